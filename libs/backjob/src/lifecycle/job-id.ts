import { randomFillSync } from 'node:crypto';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether `id` can name a job: a UUID in lower-case hex. Any version, so
 * that the random ids of jobs recorded before 0.2.0 are still found.
 */
export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && JOB_ID.test(id);
}

const HEX = Array.from({ length: 256 }, (_, byte) =>
  byte.toString(16).padStart(2, '0'),
);
// Random bytes drawn a few kilobytes at a time: one call to the system's
// generator per 409 ids, not one per id.
const RANDOM_POOL = Buffer.alloc(4096);
const RANDOM_BYTES_PER_ID = 10;
let poolAt = RANDOM_POOL.length;

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
  const r = RANDOM_POOL;
  const at = poolAt;
  poolAt += RANDOM_BYTES_PER_ID;
  const time = now.toString(16).padStart(12, '0');
  return (
    `${time.slice(0, 8)}-${time.slice(8)}-` +
    // Version 7, then 12 random bits.
    `7${HEX[r[at] & 0x0f][1]}${HEX[r[at + 1]]}-` +
    // The variant (binary 10), then 62 random bits.
    `${HEX[(r[at + 2] & 0x3f) | 0x80]}${HEX[r[at + 3]]}-` +
    `${HEX[r[at + 4]]}${HEX[r[at + 5]]}${HEX[r[at + 6]]}` +
    `${HEX[r[at + 7]]}${HEX[r[at + 8]]}${HEX[r[at + 9]]}`
  );
}
