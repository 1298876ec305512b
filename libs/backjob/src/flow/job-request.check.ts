import * as messages from '../backjob.messages.js';
import { InvalidJobRequestError } from '../errors/invalid-job-request.error.js';
import { jobColumn } from '../storage/job-table.schema.js';

/** How a value is sent: url-encoded (`String()` of each leaf) or as JSON. */
export type ValueEncoding = 'form' | 'json';

/**
 * Refuses a query or body that cannot be sent as it was meant, before
 * anything is written: a cycle (the encoders would recurse for ever), a
 * function or symbol (url-encoding would send its source text, JSON drops
 * it silently), a BigInt in JSON (JSON.stringify throws), a Map or a Set
 * (both encoders see no entries in them and send `{}` or nothing). They
 * are refused rather than converted: a Map's keys need not be strings, and
 * a conversion the route does not expect would fail later, in the job. The
 * error names the key path, e.g. `query.filter.self`.
 */
export function checkSendable(
  value: unknown,
  path: string,
  encoding: ValueEncoding,
): void {
  const ancestors: object[] = [];
  const visit = (item: unknown, at: string): void => {
    const refuse = (what: string) => {
      throw new InvalidJobRequestError(
        messages.unsendableValueMessage(at, what),
      );
    };
    if (typeof item === 'function') refuse('a function');
    if (
      encoding === 'form' &&
      typeof item === 'string' &&
      hasLoneSurrogate(item)
    )
      refuse(LONE_SURROGATE);
    if (typeof item === 'symbol') refuse('a symbol');
    if (typeof item === 'bigint' && encoding === 'json')
      refuse('a BigInt, which JSON cannot encode');
    if (item === null || typeof item !== 'object') return;
    // toJSON decides what JSON sends (a Date, a Decimal…); encodeForm sends Dates itself.
    if (item instanceof Date) return;
    if (
      encoding === 'json' &&
      typeof (item as { toJSON?: unknown }).toJSON === 'function'
    )
      return;
    if (item instanceof Map || item instanceof WeakMap)
      refuse(
        'a Map, which would arrive empty; convert it with Object.fromEntries()',
      );
    if (item instanceof Set || item instanceof WeakSet)
      refuse('a Set, which would arrive empty; convert it with Array.from()');
    if (ancestors.includes(item))
      refuse('a reference to one of its own parents (a cycle)');
    ancestors.push(item);
    for (const [key, child] of Object.entries(item)) {
      if (encoding === 'form' && hasLoneSurrogate(key))
        refuse(`an object with a key that holds ${LONE_SURROGATE}`);
      visit(child, Array.isArray(item) ? `${at}[${key}]` : `${at}.${key}`);
    }
    ancestors.pop();
  };
  visit(value, path);
}

const LONE_SURROGATE =
  'a string with a lone surrogate (half of a UTF-16 pair), which URL encoding cannot carry; repair it with toWellFormed() or send it in a JSON body';

/**
 * Whether `text` holds half of a UTF-16 surrogate pair: `encodeURIComponent`
 * throws a bare "URI malformed" on one.
 */
export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(
    text,
  );
}

/** Longest scope the table holds, in characters: the length of its VARCHAR column. */
export const MAX_SCOPE_LENGTH = jobColumn('scope').length!;

/**
 * The scope to store; anything but a string of at most 255 characters is
 * refused. Characters as the column counts them: PostgreSQL's and MariaDB's
 * (utf8mb4) VARCHAR(255) holds 255 Unicode code points, whatever their
 * bytes, so an emoji is one, not the two UTF-16 units of `String.length`.
 * SQLite and Redis keep any length: the same limit applies there, so that
 * a job that starts on one store starts on every other.
 */
export function checkScope(scope: unknown): string {
  if (scope === undefined) return '';
  if (typeof scope !== 'string')
    throw new InvalidJobRequestError(messages.invalidScopeMessage(scope));
  if (scope.includes('\0'))
    throw new InvalidJobRequestError(messages.nulScopeMessage());
  // Units first: a string that short cannot have more code points.
  if (scope.length <= MAX_SCOPE_LENGTH) return scope;
  const characters = [...scope].length;
  if (characters > MAX_SCOPE_LENGTH)
    throw new InvalidJobRequestError(
      messages.longScopeMessage(characters, MAX_SCOPE_LENGTH),
    );
  return scope;
}

/** Refuses a body larger than `maxBytes` (`maxRequestBytes`), which the app's body parser would refuse anyway. */
export function checkBodySize(
  body: string | undefined,
  maxBytes: number,
): void {
  if (body === undefined) return;
  const bytes = Buffer.byteLength(body);
  if (bytes > maxBytes)
    throw new InvalidJobRequestError(
      messages.bodyTooLargeMessage(bytes, maxBytes),
    );
}
