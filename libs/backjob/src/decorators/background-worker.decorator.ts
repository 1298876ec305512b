import { PATH_METADATA } from '@nestjs/common/constants.js';
import { callBackgroundHandler } from '../flow/handler-outcome.js';

/** Options of `@BackgroundWorker()`. */
export interface BackgroundWorkerOptions {
  /**
   * Lets the route also be called directly, as a plain route: the handler
   * then runs without a job, and `update()` and friends do nothing.
   * Default `false`: any request that is not a job's gets 403.
   */
  allowDirectCalls?: boolean;
}

type Handler = (...args: unknown[]) => unknown;

const WRAPPED = Symbol('backjob:background-worker');

/**
 * Marks a handler (or every route handler of a controller) as a background
 * action, started with `BackJobService.start()`. Its output and return
 * value become the job's `statusText` and result, and an exception fails
 * the job with that exception's message: the handler's own value or
 * exception, before any interceptor or filter of the app maps it.
 *
 * Any route can be started as a job; without this mark, the route's answer
 * decides the job (2xx completes it with the answer, any other status
 * fails it with the answer), so a crash reads "answered 500: Internal
 * server error" rather than its message.
 */
export function BackgroundWorker(
  options: BackgroundWorkerOptions = {},
): MethodDecorator & ClassDecorator {
  const workerOnly = !options.allowDirectCalls;
  return ((
    target: object,
    key?: string | symbol,
    descriptor?: PropertyDescriptor,
  ) => {
    if (descriptor) {
      descriptor.value = wrapHandler(descriptor.value as Handler, workerOnly);
      return descriptor;
    }
    markRouteHandlers(target as new () => object, workerOnly);
    return undefined;
  }) as MethodDecorator & ClassDecorator;
}

/**
 * The class form: every route handler of the controller, inherited ones
 * too, that no method-level mark wrapped already (its options win).
 */
function markRouteHandlers(
  controller: new () => object,
  workerOnly: boolean,
): void {
  const prototype = controller.prototype as Record<string, unknown>;
  for (const name of handlerNames(prototype)) {
    const handler = prototype[name] as Handler & { [WRAPPED]?: true };
    if (handler[WRAPPED]) continue;
    if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
    Object.defineProperty(prototype, name, {
      value: wrapHandler(handler, workerOnly),
      writable: true,
      configurable: true,
    });
  }
}

function handlerNames(prototype: object): Set<string> {
  const names = new Set<string>();
  for (
    let level = prototype;
    level && level !== Object.prototype;
    level = Object.getPrototypeOf(level) as object
  )
    for (const name of Object.getOwnPropertyNames(level))
      if (
        name !== 'constructor' &&
        typeof Object.getOwnPropertyDescriptor(level, name)?.value ===
          'function'
      )
        names.add(name);
  return names;
}

/**
 * The handler, settling its job (`callBackgroundHandler`). Nest reads a
 * route's metadata from the function it calls: what the decorators below
 * this one set on the original is copied over; those above set it on this.
 */
function wrapHandler(original: Handler, workerOnly: boolean): Handler {
  const wrapped = function (this: unknown, ...args: unknown[]) {
    return callBackgroundHandler(workerOnly, () => original.apply(this, args));
  };
  Object.defineProperty(wrapped, 'name', { value: original.name });
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  for (const key of Reflect.getOwnMetadataKeys(original))
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapped);
  return wrapped;
}
