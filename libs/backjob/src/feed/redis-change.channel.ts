import type { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Subject, type Observable, type Subscription } from 'rxjs';
import * as messages from '../backjob.messages.js';
import type { KeyvRedisAdapter } from '../storage/keyv-redis.adapters.js';
import { StoreOutage } from '../storage/store-outage.js';

/**
 * The calls of a node-redis client (v4 or v5, single node, cluster or
 * sentinel) that the channel makes. Typed by shape, so that `redis` stays
 * the app's dependency, not ours.
 */
export interface PubSubClient {
  duplicate(): PubSubClient;
  connect(): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(
    channel: string,
    listener: (message: string) => void,
  ): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  destroy?(): unknown;
  /** Connected and able to take commands (node-redis). */
  readonly isReady?: boolean;
}

/** Stands for "any job may have changed", after the subscriber reconnects. */
export const EVERY_JOB = '*';

// Connecting is bounded: a boot must not hang on a Redis that does not
// answer; so is closing, for a shutdown.
const CONNECT_TIMEOUT_MS = 5000;
const CLOSE_TIMEOUT_MS = 1000;

/**
 * The node-redis client of the first of a cache's `@keyv/redis` adapters
 * (see `CacheLocator`), or `null` when it has none.
 */
export async function redisClientOf(
  adapters: readonly KeyvRedisAdapter[],
): Promise<PubSubClient | null> {
  for (const adapter of adapters) {
    const client = await adapter.getClient();
    if (isPubSubClient(client)) return client;
  }
  return null;
}

function isPubSubClient(client: unknown): client is PubSubClient {
  const candidate = client as Partial<PubSubClient> | undefined;
  return (
    typeof candidate?.duplicate === 'function' &&
    typeof candidate.publish === 'function' &&
    typeof candidate.subscribe === 'function'
  );
}

// The word after the job id in the message of an ending.
const ENDED = 'ended';

/**
 * Job changes between instances over Redis publish/subscribe: publishes the
 * id of every job this instance changed, and emits the ids that other
 * instances changed. Messages are `<instance id> <job id>`, so that an
 * instance skips its own; an ending is also published as
 * `<instance id> <job id> ended`, which an older instance reads as an id of
 * no job and ignores.
 */
export class RedisChangeChannel {
  /** Ids of jobs changed by other instances, or `EVERY_JOB`. */
  readonly remoteChanges = new Subject<string>();
  /** Ids of jobs that other instances ended. */
  readonly remoteEndings = new Subject<string>();
  private readonly instanceId = randomUUID();
  private publishing: Subscription[] = [];
  private readonly outage = new StoreOutage();

  private constructor(
    private readonly publisher: PubSubClient,
    private readonly subscriber: PubSubClient,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Subscribes on a duplicate of `client` (a subscribed connection can do
   * nothing else) and starts publishing `local` changes and endings on
   * another. Both connections are the channel's own: the cache's client is
   * closed as Nest destroys its module, before a shutdown writes the
   * endings of the jobs it interrupts, and those must reach the others too.
   */
  static async open(
    client: PubSubClient,
    channel: string,
    local: { changes: Observable<string>; endings: Observable<string> },
    logger: Logger,
  ): Promise<RedisChangeChannel> {
    const relay = new RedisChangeChannel(
      client.duplicate(),
      client.duplicate(),
      channel,
      logger,
    );
    try {
      await withTimeout(
        Promise.all([relay.connectPublisher(), relay.subscribe()]),
        CONNECT_TIMEOUT_MS,
      );
    } catch (error) {
      relay.publisher.destroy?.();
      relay.subscriber.destroy?.();
      throw error;
    }
    relay.publishing = [
      local.changes.subscribe((id) => relay.publish(id)),
      local.endings.subscribe((id) => relay.publish(`${id} ${ENDED}`)),
    ];
    return relay;
  }

  async close(): Promise<void> {
    this.publishing.forEach((subscription) => subscription.unsubscribe());
    this.remoteChanges.complete();
    this.remoteEndings.complete();
    await Promise.all([this.publisher, this.subscriber].map(closeClient));
  }

  private async connectPublisher(): Promise<void> {
    // An error event without a listener would crash the app.
    this.publisher.on('error', (error) => this.warn(error));
    await this.publisher.connect();
  }

  private async subscribe(): Promise<void> {
    let connected = false;
    this.subscriber.on('error', (error) => this.warn(error));
    // node-redis resubscribes after a reconnect, but what was published in
    // between is lost: every watcher reads its job again.
    this.subscriber.on('ready', () => {
      this.outage.ended();
      if (connected) this.remoteChanges.next(EVERY_JOB);
    });
    await this.subscriber.connect();
    await this.subscriber.subscribe(this.channel, (message) =>
      this.receive(message),
    );
    connected = true;
  }

  private receive(message: string): void {
    const [instanceId, jobId, what] = message.split(' ');
    if (jobId === undefined || instanceId === this.instanceId) return;
    if (what === ENDED) this.remoteEndings.next(jobId);
    else this.remoteChanges.next(jobId);
  }

  private publish(text: string): void {
    this.publisher
      .publish(this.channel, `${this.instanceId} ${text}`)
      .catch((error: unknown) => this.warn(error));
  }

  private warn(error: unknown): void {
    this.outage.failed(() =>
      this.logger.warn(messages.redisChannelErrorMessage(error)),
    );
  }
}

/**
 * Closes a connection once what it was sent is answered; at once when it
 * is not connected: a close would wait for a Redis that is down to answer
 * what is queued for it, and hold the shutdown.
 */
async function closeClient(client: PubSubClient): Promise<void> {
  if (client.isReady === false) return void client.destroy?.();
  try {
    await withTimeout(
      Promise.resolve(client.close?.() ?? client.quit?.()),
      CLOSE_TIMEOUT_MS,
    );
  } catch {
    client.destroy?.();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(messages.noAnswerWithinMessage(ms))),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
