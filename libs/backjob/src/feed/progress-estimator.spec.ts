import { isStalled, JobStatus } from '../lifecycle/job-lifecycle.js';
import type { JobRecord } from '../storage/job-store.js';
import { ProgressEstimator } from './progress-estimator.js';

const START = 1_800_000_000_000;

function job(change: Partial<JobRecord>): JobRecord {
  return {
    id: '00000000-0000-4000-8000-000000000000',
    scope: '',
    progress: 0,
    status: JobStatus.InProgress,
    startTime: START,
    updatedTime: START,
    endTime: null,
    request: '{}',
    statusText: '',
    mergeKey: null,
    anonymous: false,
    result: null,
    retryOf: null,
    ...change,
  };
}

/** The job at `seconds` after its start, with `progress`, read right then. */
const at = (estimator: ProgressEstimator, seconds: number, progress: number) =>
  estimator.estimate(
    job({ progress, updatedTime: START + seconds * 1000 }),
    START + seconds * 1000,
  );

describe('ProgressEstimator', () => {
  it('measures a steady pace from one read: the average since the start', () => {
    expect(at(new ProgressEstimator(), 4, 40)).toEqual({ rate: 10, eta: 6 });
  });

  it('counts the ETA down from the last update to the moment of the read', () => {
    const estimate = new ProgressEstimator().estimate(
      job({ progress: 40, updatedTime: START + 4000 }),
      START + 5000,
    );
    expect(estimate).toEqual({ rate: 10, eta: 5 });
  });

  it('follows a change of pace over the last ten seconds', () => {
    const estimator = new ProgressEstimator();
    // 1 %/s for 20 s, then 5 %/s.
    for (let s = 1; s <= 20; s++) at(estimator, s, s);
    const progressAt = (s: number) => 20 + 5 * (s - 20);
    for (let s = 21; s < 25; s++) at(estimator, s, progressAt(s));
    // Over 15..25 s: from 15 % to 45 %, a blend of both paces.
    expect(at(estimator, 25, progressAt(25))).toEqual({ rate: 3, eta: 55 / 3 });
    for (let s = 26; s < 32; s++) at(estimator, s, progressAt(s));
    // Over 22..32 s: the new pace alone.
    expect(at(estimator, 32, progressAt(32))).toEqual({ rate: 5, eta: 4 });
  });

  it('gives no ETA before any progress, nor when progress fell over the window', () => {
    expect(at(new ProgressEstimator(), 3, 0)).toEqual({ rate: 0, eta: null });
    const estimator = new ProgressEstimator();
    at(estimator, 2, 50);
    expect(at(estimator, 14, 20)).toEqual({ rate: null, eta: null });
  });

  it('says 0 s left at 100 %, and nothing for a job waiting for its delay', () => {
    expect(at(new ProgressEstimator(), 5, 100).eta).toBe(0);
    expect(
      new ProgressEstimator().estimate(
        job({ status: JobStatus.Started, startTime: START + 9000 }),
        START,
      ),
    ).toEqual({ rate: null, eta: null });
  });

  it('gives an ended job its average pace; ETA 0 when completed, none when failed', () => {
    const ended = { endTime: START + 20_000, updatedTime: START + 20_000 };
    expect(
      new ProgressEstimator().estimate(
        job({ ...ended, status: JobStatus.Completed, progress: 100 }),
        START + 60_000,
      ),
    ).toEqual({ rate: 5, eta: 0 });
    expect(
      new ProgressEstimator().estimate(
        job({ ...ended, status: JobStatus.Failed, progress: 30 }),
        START + 60_000,
      ),
    ).toEqual({ rate: 1.5, eta: null });
  });
});

describe('isStalled', () => {
  const errorTimeout = 60;

  it('is true for a pending job after half of errorTimeout without an update', () => {
    const running = job({ updatedTime: START + 1000 });
    expect(isStalled(running, START + 30_999, errorTimeout)).toBe(false);
    expect(isStalled(running, START + 31_000, errorTimeout)).toBe(true);
  });

  it('counts a waiting job from its last heartbeat, and never an ended job', () => {
    const delayed = job({
      status: JobStatus.Started,
      startTime: START + 50_000,
      updatedTime: START + 40_000,
    });
    expect(isStalled(delayed, START + 69_999, errorTimeout)).toBe(false);
    expect(isStalled(delayed, START + 70_000, errorTimeout)).toBe(true);
    const ended = job({ status: JobStatus.Completed, endTime: START });
    expect(isStalled(ended, START + 3_600_000, errorTimeout)).toBe(false);
  });
});
