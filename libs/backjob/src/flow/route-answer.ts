import * as messages from '../backjob.messages.js';
import { JobEndings, type JobEnding } from '../lifecycle/job-lifecycle.js';

/**
 * How the answer of a job's route ends a job that its handler did not end
 * (a route without `@BackgroundWorker()`, a guard's or a pipe's refusal, a
 * missing route): a 2xx answer completes it with the answer as its output;
 * any other fails it with the progress text it had and a sentence naming
 * the URL, the status and the answer. The worker applies it to what its
 * route sent; the monitor, to a worker answer for a job still unsettled.
 */
export function answerEnding(
  status: number,
  answer: string,
  url: string,
): (output: string) => JobEnding {
  if (status >= 200 && status < 300) return () => JobEndings.completed(answer);
  const reason = messages.workerFailedMessage(url, status, answer);
  return (output) => JobEndings.failed(output, reason);
}
