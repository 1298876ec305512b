import {
  ALL_STATUSES,
  canTransition,
  CLAIMABLE_STATUSES,
  ENDABLE_STATUSES,
  ENDING_TEXTS,
  FINAL_STATUSES,
  isFinalStatus,
  isStale,
  isStalled,
  JobEndings,
  JobStatus,
  keptMs,
  lastSignOfLife,
  PENDING_STATUSES,
  RELEASED_SIGN_OF_LIFE,
  retentionRules,
  staleCutoff,
  staleVerdict,
  statusesBefore,
  statusName,
  sweepIntervalSeconds,
  WAITING_STATUSES,
} from './job-lifecycle.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_800_000_000_000;

describe('the job lifecycle', () => {
  describe('statuses and transitions', () => {
    it('splits every status into pending and final ones', () => {
      expect(ALL_STATUSES).toEqual([0, 1, 2, 3, 4]);
      expect(PENDING_STATUSES).toEqual([
        JobStatus.Started,
        JobStatus.InProgress,
      ]);
      for (const status of ALL_STATUSES)
        expect(isFinalStatus(status)).toBe(
          FINAL_STATUSES.includes(status as never),
        );
      expect(isFinalStatus(JobStatus.Cancelled)).toBe(true);
    });

    it('claims a job once, ends a pending job in any final status, and never leaves a final one', () => {
      expect(canTransition(JobStatus.Started, JobStatus.InProgress)).toBe(true);
      expect(canTransition(JobStatus.InProgress, JobStatus.InProgress)).toBe(
        false,
      );
      expect(canTransition(JobStatus.InProgress, JobStatus.Started)).toBe(
        false,
      );
      for (const final of FINAL_STATUSES) {
        expect(statusesBefore(final)).toEqual(PENDING_STATUSES);
        for (const to of ALL_STATUSES)
          expect(canTransition(final, to)).toBe(false);
      }
      expect(statusesBefore(JobStatus.Started)).toEqual([]);
      expect(CLAIMABLE_STATUSES).toEqual([JobStatus.Started]);
      expect(WAITING_STATUSES).toEqual([JobStatus.Started]);
      expect(ENDABLE_STATUSES).toEqual(PENDING_STATUSES);
    });

    it('names statuses for keys and logs', () => {
      expect(ALL_STATUSES.map(statusName)).toEqual([
        'started',
        'inprogress',
        'completed',
        'failed',
        'cancelled',
      ]);
    });
  });

  describe('endings', () => {
    it('keep what the action wrote and add why', () => {
      expect(JobEndings.completed('out')).toEqual({
        status: JobStatus.Completed,
        statusText: 'out',
        progress: 100,
      });
      expect(JobEndings.failed('out', 'boom')).toEqual({
        status: JobStatus.Failed,
        statusText: 'out\nboom',
      });
      expect(JobEndings.failed('out\n', 'boom').statusText).toBe('out\nboom');
      expect(JobEndings.failed('', 'boom').statusText).toBe('boom');
      expect(JobEndings.failed('out').statusText).toBe('out');
      expect(JobEndings.timedOut('out').statusText).toBe('out\njob timeout');
      expect(JobEndings.cancelled('out')).toEqual({
        status: JobStatus.Cancelled,
        statusText: 'out\ncancelled',
      });
      expect(JobEndings.cancelled('', 'by the user').statusText).toBe(
        'cancelled: by the user',
      );
      expect(JobEndings.interrupted('').statusText).toBe(
        ENDING_TEXTS.interrupted,
      );
      expect(JobEndings.notStartedBeforeShutdown('').statusText).toBe(
        ENDING_TEXTS.notStartedBeforeShutdown,
      );
      expect(JobEndings.instanceLost('x').statusText).toBe(
        `x\n${ENDING_TEXTS.instanceLost}`,
      );
      expect(JobEndings.unreachable('', 'http://x refused')).toEqual({
        status: JobStatus.Failed,
        statusText: 'http://x refused',
      });
    });
  });

  describe('staleness', () => {
    const job = (status: JobStatus, startAgo: number, updatedAgo: number) => ({
      status,
      startTime: NOW - startAgo,
      updatedTime: NOW - updatedAgo,
    });

    it('takes the last update as the last sign of life: the heartbeat renews waiting jobs', () => {
      expect(lastSignOfLife({ updatedTime: 3 })).toBe(3);
      expect(staleCutoff(NOW, 10)).toBe(NOW - 10_000);
    });

    it('makes a pending job stale after errorTimeout without a sign of life, and no final one', () => {
      expect(isStale(job(JobStatus.InProgress, 20_000, 11_000), NOW, 10)).toBe(
        true,
      );
      expect(isStale(job(JobStatus.Started, 20_000, 11_000), NOW, 10)).toBe(
        true,
      );
      expect(isStale(job(JobStatus.InProgress, 20_000, 9_000), NOW, 10)).toBe(
        false,
      );
      for (const final of FINAL_STATUSES)
        expect(isStale(job(final, 60_000, 60_000), NOW, 10)).toBe(false);
    });

    it('judges a delayed job by its heartbeat, not by when it is due', () => {
      // Due in 30 s, renewed 1 s ago: alive. Not renewed for 60 s: its instance died.
      expect(isStale(job(JobStatus.Started, -30_000, 1_000), NOW, 10)).toBe(
        false,
      );
      expect(isStale(job(JobStatus.Started, -30_000, 60_000), NOW, 10)).toBe(
        true,
      );
    });

    it('makes a released waiting job stale at once, delayed or not', () => {
      const released = {
        status: JobStatus.Started,
        updatedTime: RELEASED_SIGN_OF_LIFE,
      };
      expect(isStale({ ...released, startTime: NOW - 1 }, NOW, 10)).toBe(true);
      expect(isStale({ ...released, startTime: NOW + 60_000 }, NOW, 10)).toBe(
        true,
      );
    });

    it('calls a job stalled after half of errorTimeout', () => {
      expect(isStalled(job(JobStatus.InProgress, 6_000, 6_000), NOW, 10)).toBe(
        true,
      );
      expect(isStalled(job(JobStatus.InProgress, 4_000, 4_000), NOW, 10)).toBe(
        false,
      );
      expect(isStalled(job(JobStatus.Completed, 6_000, 6_000), NOW, 10)).toBe(
        false,
      );
    });

    it('takes over an anonymous waiting job, fails one of a user as lost, and a running one as timed out', () => {
      const base = { startTime: 0, updatedTime: 0, statusText: 'so far' };
      expect(
        staleVerdict({ ...base, status: JobStatus.Started, anonymous: true }),
      ).toEqual({ action: 'take-over' });
      expect(
        staleVerdict({ ...base, status: JobStatus.Started, anonymous: false }),
      ).toEqual({ action: 'end', ending: JobEndings.instanceLost('so far') });
      for (const anonymous of [true, false])
        expect(
          staleVerdict({ ...base, status: JobStatus.InProgress, anonymous }),
        ).toEqual({ action: 'end', ending: JobEndings.timedOut('so far') });
    });

    it('sweeps every half errorTimeout unless the app set an interval', () => {
      expect(sweepIntervalSeconds(60, undefined)).toBe(30);
      expect(sweepIntervalSeconds(60, 5)).toBe(5);
    });
  });

  describe('retention', () => {
    it('deletes completed jobs after backlogDays and every ended one after allBacklogDays', () => {
      expect(retentionRules(NOW, 2, 7)).toEqual([
        { statuses: [JobStatus.Completed], endedBefore: NOW - 2 * DAY },
        { statuses: FINAL_STATUSES, endedBefore: NOW - 7 * DAY },
      ]);
      expect(retentionRules(NOW, 0, 7)).toEqual([
        { statuses: FINAL_STATUSES, endedBefore: NOW - 7 * DAY },
      ]);
      expect(retentionRules(NOW, 2, 0)).toEqual([
        { statuses: [JobStatus.Completed], endedBefore: NOW - 2 * DAY },
      ]);
      expect(retentionRules(NOW, 0, 0)).toEqual([]);
    });

    it('keeps each ended job as long as those rules say, 0 for ever', () => {
      expect(keptMs(JobStatus.Completed, 2, 7)).toBe(2 * DAY);
      expect(keptMs(JobStatus.Completed, 9, 7)).toBe(7 * DAY);
      expect(keptMs(JobStatus.Failed, 2, 7)).toBe(7 * DAY);
      expect(keptMs(JobStatus.Cancelled, 2, 7)).toBe(7 * DAY);
      expect(keptMs(JobStatus.Completed, 0, 7)).toBe(7 * DAY);
      expect(keptMs(JobStatus.Completed, 2, 0)).toBe(2 * DAY);
      expect(keptMs(JobStatus.Failed, 2, 0)).toBe(0);
      expect(keptMs(JobStatus.Cancelled, 0, 0)).toBe(0);
    });
  });
});
