import { randomUUID } from 'node:crypto';
import { isJobId, newJobId } from './job-id.js';

const UUID_V7 =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => parseInt(id.replace('-', '').slice(0, 12), 16);
/** The hex digits after the version digit: 74 random bits and the variant's two. */
const randomDigits = (id: string) => id.replaceAll('-', '').slice(13);

describe('newJobId', () => {
  it('makes a UUID version 7 that starts with the time given, in ms', () => {
    for (const now of [0, 1, Date.now(), 2 ** 48 - 1]) {
      const id = newJobId(now);
      expect(id).toMatch(UUID_V7);
      expect(timeOf(id)).toBe(now);
    }
  });

  it('makes ids that sort in the order of their times', () => {
    const now = Date.now();
    const ids = [now, now + 1, now + 255, now + 256, now + 86_400_000].map(
      (time) => newJobId(time),
    );
    expect([...ids].sort()).toEqual(ids);
  });

  it('never makes the same id twice in one millisecond, across many refills of its random bytes', () => {
    const now = Date.now();
    const ids = Array.from({ length: 100_000 }, () => newJobId(now));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('fills every random digit with every value (no digit is fixed or reused)', () => {
    const ids = Array.from({ length: 5_000 }, () => newJobId(0));
    const digits = ids.map(randomDigits);
    expect(digits[0]).toHaveLength(19);
    for (let position = 0; position < 19; position++) {
      const values = new Set(digits.map((d) => d[position]));
      // The variant's digit (binary 10xx) keeps two random bits.
      expect(values.size).toBe(position === 3 ? 4 : 16);
    }
  });
});

describe('isJobId', () => {
  it('takes the ids of new jobs and the random ones of jobs recorded before 0.2.0', () => {
    expect(isJobId(newJobId())).toBe(true);
    expect(isJobId(randomUUID())).toBe(true);
  });

  it('refuses what no job can be named', () => {
    for (const id of [
      undefined,
      42,
      '',
      'not-a-job',
      newJobId().toUpperCase(),
      `${newJobId()}x`,
      ` ${newJobId()}`,
      newJobId().replaceAll('-', ''),
    ])
      expect(isJobId(id)).toBe(false);
  });
});
