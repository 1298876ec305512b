import { Logger } from '@nestjs/common';

/**
 * Writes a debug line that follows one job (recorded, worker request sent,
 * claimed, ended), built only when debug logs are on: the text costs more
 * than the step it traces on a fast store.
 */
export function traceJob(logger: Logger, line: () => string): void {
  if (Logger.isLevelEnabled('debug')) logger.debug(line());
}
