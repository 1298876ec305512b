import { randomFillSync } from 'node:crypto';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `id` can name a job: a UUID in lower-case hex. Any version, so
 * that the random ids of jobs recorded before 0.2.0 are still found.
 */
export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && JOB_ID.test(id);
}

/**
 * The id as BackJob writes it: RFC 9562 reads a UUID in either case, and a
 * client may have upper-cased it. Anything else is left as it is, for the
 * caller to refuse.
 */
export function canonicalJobId<T>(id: T): T | string {
  return typeof id === 'string' && id.length === 36 ? id.toLowerCase() : id;
}

// Random bytes drawn a few kilobytes at a time: one call to the system's
// generator per 409 ids, not one per id.
const RANDOM_POOL = Buffer.alloc(4096);
const RANDOM_BYTES_PER_ID = 10;
let poolAt = RANDOM_POOL.length;
// The hex digit that carries the variant (binary 10) and two random bits,
// for each random hex digit.
const VARIANT_DIGIT: Record<string, string> = Object.fromEntries(
  [...'0123456789abcdef'].map((digit, value) => [digit, '89ab'[value & 3]]),
);
// A burst makes many ids in one millisecond: its time is written once.
let prefixTime = -1;
let timePrefix = '';

/**
 * A new job id: a UUID version 7 (RFC 9562), the creation time in
 * milliseconds, then 74 random bits from the system's generator. Ids
 * cannot be guessed, and they are in time order: every index on them
 * (the primary key, InnoDB's clustered one above all) takes new rows at
 * its end instead of rewriting pages all over a large table. The time is
 * no secret: the job's `startTime` tells it too.
 */
export function newJobId(now = Date.now()): string {
  if (poolAt + RANDOM_BYTES_PER_ID > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    poolAt = 0;
  }
  const random = RANDOM_POOL.toString(
    'hex',
    poolAt,
    poolAt + RANDOM_BYTES_PER_ID,
  );
  poolAt += RANDOM_BYTES_PER_ID;
  if (now !== prefixTime) {
    const time = now.toString(16).padStart(12, '0');
    timePrefix = `${time.slice(0, 8)}-${time.slice(8)}-7`;
    prefixTime = now;
  }
  // 12 random bits; the variant, with 2 more in its digit; 60 more.
  return `${timePrefix}${random.slice(0, 3)}-${VARIANT_DIGIT[random[3]]}${random.slice(4, 7)}-${random.slice(7, 19)}`;
}
