import { METHODS } from 'node:http';
import * as messages from '../backjob.messages.js';
import { InvalidJobRequestError } from '../errors/invalid-job-request.error.js';
import { checkSendable, hasLoneSurrogate } from './job-request.check.js';
import type {
  JobBodyType,
  JobRequest,
  JobRequestObject,
} from '../interfaces/job-request.interface.js';

/** A job request reduced to what is sent: stored with the job as JSON. */
export interface NormalizedJobRequest {
  method: string;
  /** Path as the app serves it (global prefix included), always starting with '/'. */
  path: string;
  /** Encoded query string without '?', or ''. */
  query: string;
  body?: string;
  contentType?: string;
}

/**
 * The global prefix the app serves a route under: its prefix, or none for a
 * route excluded from it.
 */
export type GlobalPrefixResolver = (
  routePath: string,
  method: string,
) => string;

// CONNECT opens a tunnel rather than reaching a route.
export const ALLOWED_METHODS: readonly string[] = METHODS.filter(
  (m) => m !== 'CONNECT',
);

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const JSON_CONTENT_TYPE = 'application/json';

/**
 * Turns any of the three request forms into the request that will be sent.
 * Routes become a path under the app's own root: no scheme, host, `..` or
 * `//` can make an internal request leave the app.
 */
export function normalizeJobRequest(
  request: JobRequest,
  prefixFor: GlobalPrefixResolver,
): NormalizedJobRequest {
  const {
    route,
    query,
    method,
    body,
    bodyType = 'form',
  } = toObjectForm(request);
  const verb = (method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  if (!ALLOWED_METHODS.includes(verb)) {
    throw new InvalidJobRequestError(
      messages.invalidMethodMessage(method, ALLOWED_METHODS),
    );
  }
  // Most jobs are a route alone: no query to walk.
  if (query !== undefined) {
    if (!isParams(query))
      throw new InvalidJobRequestError(
        messages.invalidParamsMessage('the query', query),
      );
    checkSendable(query, 'query', 'form');
  }
  if (body !== undefined)
    checkSendable(body, 'body', bodyType === 'json' ? 'json' : 'form');
  const routePath = toRoutePath(route);
  const prefix = prefixFor(routePath, verb).replace(/^\/|\/$/g, '');
  // Routes are relative to the prefix: 'api/x' under 'api' would be sent to
  // /api/api/x, a path the app almost never serves. Say so instead.
  if (
    prefix &&
    (routePath === `/${prefix}` || routePath.startsWith(`/${prefix}/`))
  ) {
    throw new InvalidJobRequestError(
      messages.routeWithPrefixMessage(
        route,
        prefix,
        decodeURIComponent(routePath.slice(prefix.length + 2)),
      ),
    );
  }
  const normalized: NormalizedJobRequest = {
    method: verb,
    path: prefix
      ? `/${prefix}${routePath === '/' ? '' : routePath}`
      : routePath,
    query: query === undefined ? '' : encodeForm(query, 'repeat'),
  };
  if (body !== undefined) Object.assign(normalized, encodeBody(body, bodyType));
  return normalized;
}

function toObjectForm(request: JobRequest): JobRequestObject {
  if (typeof request === 'string') return { route: request };
  if (Array.isArray(request)) {
    const [route, params = {}] = request as readonly [string, unknown?];
    if (!isParams(params))
      throw new InvalidJobRequestError(
        messages.invalidParamsMessage("the array's parameters", params),
      );
    const { backjobMethod, backjobPostdata, ...query } = params;
    return {
      route,
      query,
      method: backjobMethod === undefined ? undefined : String(backjobMethod),
      body: backjobPostdata,
    };
  }
  if (request && typeof request === 'object' && 'route' in request)
    return request;
  throw new InvalidJobRequestError(messages.invalidRequestFormMessage());
}

// Characters encodeURIComponent leaves alone, and "/": a route of these
// alone (most routes) is its own encoding. Dots are left to the segment check.
const PLAIN_ROUTE = /^[A-Za-z0-9\-_.!~*'()/]*$/;
const EDGE_SLASHES = /^\/|\/$/g;

/** The route as an encoded path of the app, before any global prefix: `/a/b`. */
function toRoutePath(route: unknown): string {
  if (typeof route !== 'string')
    throw invalidRoute(route, 'it is not a string');
  const plain = PLAIN_ROUTE.test(route);
  if (!plain) checkRouteCharacters(route);
  const trimmed = route.replace(EDGE_SLASHES, '');
  const segments = trimmed === '' ? [] : trimmed.split('/');
  for (const segment of segments) {
    if (segment === '')
      throw invalidRoute(route, 'it contains an empty segment ("//")');
    if (segment === '.' || segment === '..')
      throw invalidRoute(route, 'it contains a "." or ".." segment');
  }
  return plain
    ? `/${trimmed}`
    : `/${segments.map(encodeURIComponent).join('/')}`;
}

/** Refuses what no route of this app can hold: it would leave the app or break the request. */
function checkRouteCharacters(route: string): void {
  // Control characters would let a route inject headers or split the request.
  // oxlint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\?#]/.test(route)) {
    throw invalidRoute(
      route,
      'it contains a control character, a backslash, "?" or "#" (give query parameters separately)',
    );
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(route))
    throw invalidRoute(
      route,
      'it names a scheme; internal requests only reach this app',
    );
  if (hasLoneSurrogate(route))
    throw invalidRoute(
      route,
      'it holds a lone surrogate (half of a UTF-16 pair), which no URL can carry',
    );
}

function invalidRoute(route: unknown, why: string): InvalidJobRequestError {
  return new InvalidJobRequestError(messages.invalidRouteMessage(route, why));
}

function encodeBody(
  body: unknown,
  bodyType: JobBodyType,
): Pick<NormalizedJobRequest, 'body' | 'contentType'> {
  if (bodyType === 'json')
    return { body: JSON.stringify(body), contentType: JSON_CONTENT_TYPE };
  if (bodyType !== 'form')
    throw new InvalidJobRequestError(messages.invalidBodyTypeMessage(bodyType));
  if (typeof body === 'string') return { body, contentType: FORM_CONTENT_TYPE };
  if (!isParams(body))
    throw new InvalidJobRequestError(messages.invalidFormBodyMessage(body));
  return { body: encodeForm(body), contentType: FORM_CONTENT_TYPE };
}

/** An object of names and values: what a query string or a form holds. */
function isParams(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Url-encodes parameters the way Express's extended parser (qs) reads them
 * back: nested objects as `a[b]=1`, lists of objects with their index, lists
 * of values as `a[]=1&a[]=2` in a body (qs reads one item as a list too) and
 * as repeated keys in a query string (which Express 5's default parser reads).
 */
export function encodeForm(
  params: unknown,
  listStyle: 'brackets' | 'repeat' = 'brackets',
): string {
  const pairs: string[] = [];
  const add = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (value === null) return void pairs.push(`${encodeURIComponent(key)}=`);
    if (value instanceof Date) return add(key, value.toISOString());
    if (Array.isArray(value)) {
      const scalar = value.every(
        (item) =>
          item === null || typeof item !== 'object' || item instanceof Date,
      );
      const itemKey = (i: number) =>
        !scalar ? `${key}[${i}]` : listStyle === 'brackets' ? `${key}[]` : key;
      return value.forEach((item, i) => add(itemKey(i), item));
    }
    if (typeof value === 'object') {
      return Object.entries(value).forEach(([k, v]) => add(`${key}[${k}]`, v));
    }
    pairs.push(
      `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`,
    );
  };
  if (params && typeof params === 'object') {
    Object.entries(params).forEach(([key, value]) => add(key, value));
  }
  return pairs.join('&');
}
