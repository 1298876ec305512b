import { JobStatus } from '../../lifecycle/job-lifecycle.js';
import type { JobStatusSnapshot } from '../../interfaces/job-status.interface.js';
import {
  checkParameters,
  DashboardQueryError,
  DEFAULT_DASHBOARD_LIMIT,
  OUTPUT_TAIL_CHARS,
  parseLimit,
  parseStatusFilter,
  singleParameter,
  toDashboardJob,
} from './dashboard-query.js';

const snapshot = (statusText: string): JobStatusSnapshot => ({
  id: 'a',
  scope: '',
  progress: 50,
  status: JobStatus.InProgress,
  statusText,
  startTime: new Date(0),
  updatedTime: new Date(0),
  endTime: null,
  eta: 1,
  rate: 1,
  stalled: false,
  result: { big: 'x'.repeat(10_000) },
  retryOf: null,
});

describe('parseStatusFilter', () => {
  it('reads numbers and names, mixed, with spaces and any case', () => {
    expect(parseStatusFilter('1')).toEqual([JobStatus.InProgress]);
    expect(parseStatusFilter(' Failed , 4,0 ')).toEqual([
      JobStatus.Failed,
      JobStatus.Cancelled,
      JobStatus.Started,
    ]);
  });

  it('takes none or an empty value for every status', () => {
    expect(parseStatusFilter(undefined)).toBeUndefined();
    expect(parseStatusFilter('')).toBeUndefined();
    expect(parseStatusFilter('  ')).toBeUndefined();
  });

  it('refuses what is not a status, naming it and the statuses there are', () => {
    for (const value of ['5', '-1', '1.0', 'done', '1,,2', '0x1'])
      expect(() => parseStatusFilter(value)).toThrow(DashboardQueryError);
    expect(() => parseStatusFilter('2,done')).toThrow(
      /"done" is not a job status\. Use one or more of 0 \(started\), 1 \(inprogress\), 2 \(completed\), 3 \(failed\), 4 \(cancelled\)/,
    );
    expect(() => parseStatusFilter(['1', '2'])).toThrow(/more than once/);
  });
});

describe('checkParameters', () => {
  it('takes the parameters the route reads, and refuses any other, naming it', () => {
    expect(() =>
      checkParameters({ status: '1', scope: 'a' }, ['status', 'scope']),
    ).not.toThrow();
    expect(() => checkParameters(undefined, ['scope'])).not.toThrow();
    expect(() =>
      checkParameters({ 'status[]': '3', scope: 'a' }, ['status', 'scope']),
    ).toThrow(
      'The dashboard does not know the parameter "status[]". It reads status, scope, each given once as name=value (no brackets).',
    );
  });
});

describe('singleParameter and parseLimit', () => {
  it('refuses a parameter given twice (an array) or as an object', () => {
    expect(singleParameter('scope', 'a')).toBe('a');
    expect(singleParameter('scope', undefined)).toBeUndefined();
    expect(() => singleParameter('scope', ['a', 'b'])).toThrow(
      'The scope parameter was given more than once.',
    );
    expect(() => singleParameter('scope', { a: '1' })).toThrow(
      DashboardQueryError,
    );
  });

  it('reads digits as a number and leaves the rest for list() to refuse by name', () => {
    expect(parseLimit(undefined)).toBe(DEFAULT_DASHBOARD_LIMIT);
    expect(parseLimit('')).toBe(DEFAULT_DASHBOARD_LIMIT);
    expect(parseLimit('7')).toBe(7);
    expect(parseLimit('ten')).toBe('ten');
  });
});

describe('toDashboardJob', () => {
  it('keeps a short output whole and drops the result', () => {
    const job = toDashboardJob(snapshot('all of it'));
    expect(job.statusText).toBe('all of it');
    expect(job.statusTextCut).toBe(0);
    expect(job).not.toHaveProperty('result');
    expect(job).toMatchObject({ id: 'a', progress: 50, eta: 1 });
  });

  it('keeps the tail of a long one and says how much came before', () => {
    const text = `${'a'.repeat(5000)}${'z'.repeat(OUTPUT_TAIL_CHARS - 3)}END`;
    const job = toDashboardJob(snapshot(text));
    expect(job.statusText).toBe(text.slice(-OUTPUT_TAIL_CHARS));
    expect(job.statusTextCut).toBe(5000);
  });

  it('begins with a whole line when one begins near the cut', () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`);
    const text = lines.join('\n');
    const job = toDashboardJob(snapshot(text));
    expect(job.statusText.length).toBeLessThanOrEqual(OUTPUT_TAIL_CHARS);
    expect(job.statusText.length).toBeGreaterThan(OUTPUT_TAIL_CHARS - 20);
    expect(job.statusText.endsWith('line 499')).toBe(true);
    expect(lines).toContain(job.statusText.split('\n')[0]);
    expect(job.statusTextCut + job.statusText.length).toBe(text.length);
  });

  it('never begins with half a character', () => {
    // An odd length: the last 2,048 code units would begin mid-emoji.
    const text = `${'😀'.repeat(OUTPUT_TAIL_CHARS)}.`;
    const job = toDashboardJob(snapshot(text));
    expect(job.statusText.length).toBe(OUTPUT_TAIL_CHARS - 1);
    expect(job.statusText.startsWith('😀')).toBe(true);
    expect(job.statusTextCut + job.statusText.length).toBe(text.length);
  });
});
