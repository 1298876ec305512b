import { HttpException } from '@nestjs/common';
import { BackJobConfigurationError } from './backjob-configuration.error.js';
import { toHttpException } from './backjob-exception.filter.js';
import { BackJobShutdownError } from './backjob-shutdown.error.js';
import { InvalidJobQueryError } from './invalid-job-query.error.js';
import { InvalidJobRequestError } from './invalid-job-request.error.js';
import { JobNotEndedError } from './job-not-ended.error.js';
import { JobNotFoundError } from './job-not-found.error.js';
import { JobStoreUnavailableError } from './job-store-unavailable.error.js';
import { JobWatchStoppedError } from './job-watch-stopped.error.js';

describe('toHttpException', () => {
  it.each([
    [new InvalidJobRequestError('bad route'), 400],
    [new InvalidJobQueryError('bad limit'), 400],
    [new JobNotFoundError('j1'), 404],
    [new JobNotEndedError('j1', 'InProgress'), 409],
    [new BackJobShutdownError('shutting down'), 503],
    [new JobWatchStoppedError('j1'), 503],
  ])(
    'answers %s with %i and its message, the error as cause',
    (error, status) => {
      const answer = toHttpException(error)!;
      expect(answer).toBeInstanceOf(HttpException);
      expect(answer.getStatus()).toBe(status);
      expect(answer.message).toBe(error.message);
      expect(answer.cause).toBe(error);
    },
  );

  it("answers a store that is away 503 without the driver's words, which name hosts and ports", () => {
    const error = new JobStoreUnavailableError(
      new Error('connect ECONNREFUSED 10.0.0.7:5432'),
    );
    const answer = toHttpException(error)!;
    expect(answer.getStatus()).toBe(503);
    expect(answer.message).not.toMatch(/10\.0\.0\.7|ECONNREFUSED/);
    expect(answer.message).toMatch(/Try again in a little while\.$/);
    expect(answer.cause).toBe(error);
  });

  it('leaves any other error alone', () => {
    expect(toHttpException(new Error('app'))).toBeUndefined();
    expect(
      toHttpException(new BackJobConfigurationError('bad options')),
    ).toBeUndefined();
    expect(toHttpException('not an error')).toBeUndefined();
  });
});
