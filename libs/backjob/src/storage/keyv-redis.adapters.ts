/**
 * The parts of a `@keyv/redis` adapter that BackJob uses, typed by shape so
 * that `@keyv/redis` stays the app's dependency, not ours.
 */
export interface KeyvRedisAdapter {
  getClient(): Promise<unknown>;
  /** The connected node-redis client, once `getClient()` has run. */
  client?: unknown;
  isCluster?(): boolean;
}

/**
 * The `@keyv/redis` adapters behind a cache: among the Keyv stores of a
 * cache-manager cache (6 and 7 keep them in `stores`), or of a bare Keyv.
 * Both the Redis job store and the change channel of `watch()` start here.
 */
export function keyvRedisAdapters(cache: unknown): KeyvRedisAdapter[] {
  if (!cache || typeof cache !== 'object') return [];
  const stores = (cache as { stores?: unknown }).stores;
  return [cache, ...(Array.isArray(stores) ? stores : [])]
    .map((keyv) => (keyv as { store?: unknown } | undefined)?.store)
    .filter(
      (adapter): adapter is KeyvRedisAdapter =>
        typeof (adapter as Partial<KeyvRedisAdapter> | undefined)?.getClient ===
        'function',
    );
}
