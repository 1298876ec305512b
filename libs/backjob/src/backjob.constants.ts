/** Injection token of the options the user passed to `forRoot`/`forRootAsync`. */
export const BACKJOB_MODULE_OPTIONS = 'BACKJOB_MODULE_OPTIONS';

/** Injection token of the options after defaults were applied and checked. */
export const BACKJOB_RESOLVED_OPTIONS = 'BACKJOB_RESOLVED_OPTIONS';

/** Injection token of the job store chosen from `useDb` / `useCache`. */
export const BACKJOB_JOB_STORE = 'BACKJOB_JOB_STORE';

/** Injection token of the TypeORM repository of the job table, when `useDb`. */
export const BACKJOB_JOB_REPOSITORY = 'BACKJOB_JOB_REPOSITORY';

/** Request header that carries the signed token of an internal request. */
export const BACKJOB_TOKEN_HEADER = 'x-backjob-token';

/** Response header by which a monitor request acknowledges its job. */
export const BACKJOB_ACK_HEADER = 'x-backjob-ack';

/** Response header by which a worker request says it could not claim its job. */
export const BACKJOB_CLAIM_HEADER = 'x-backjob-claim';

/** Response header by which a worker request says it stored its job's final status. */
export const BACKJOB_SETTLED_HEADER = 'x-backjob-settled';

/**
 * Response header by which an internal request signed with a key this
 * instance does not have is refused; its value is that key's id.
 */
export const BACKJOB_UNKNOWN_KEY_HEADER = 'x-backjob-unknown-key';

/** Context of every log line the module writes. */
export const BACKJOB_LOGGER_CONTEXT = 'BackJob';
