import { InvalidJobRequestError } from '../errors/invalid-job-request.error.js';
import { normalizeJobRequest } from './job-request.normalizer.js';

const noPrefix = () => '';
const pathOf = (route: string, prefix = '') =>
  normalizeJobRequest(route, () => prefix).path;

describe('normalizeJobRequest: the route', () => {
  it('sends a route of plain characters as it is, under the global prefix', () => {
    expect(pathOf('reports/build')).toBe('/reports/build');
    expect(pathOf('/reports/build/')).toBe('/reports/build');
    expect(pathOf("a-b_c.d!e~f*g'h(i)")).toBe("/a-b_c.d!e~f*g'h(i)");
    expect(pathOf('v1.2/x')).toBe('/v1.2/x');
    expect(pathOf('')).toBe('/');
    expect(pathOf('/')).toBe('/');
    expect(pathOf('reports', 'api')).toBe('/api/reports');
    expect(pathOf('', 'api')).toBe('/api');
  });

  it('encodes each segment of a route with other characters', () => {
    expect(pathOf('reports/été 2026')).toBe('/reports/%C3%A9t%C3%A9%202026');
    expect(pathOf('x/a:b/c@d')).toBe('/x/a%3Ab/c%40d');
    expect(pathOf('100%')).toBe('/100%25');
    expect(pathOf('files/😀')).toBe('/files/%F0%9F%98%80');
  });

  it('refuses routes that would leave the app or break the request, plain or not', () => {
    for (const route of [
      'a//b',
      '//evil.example/x',
      'a/../admin',
      './a',
      'a/.',
      'é/../admin',
      'é//b',
      'http://evil.example/x',
      'a\\b',
      'a?x=1',
      'a\u0000b',
      '\uD800x',
    ])
      expect(() => normalizeJobRequest(route, noPrefix), route).toThrow(
        InvalidJobRequestError,
      );
  });
});
