import { createHash } from 'node:crypto';
import {
  FINAL_STATUSES,
  isFinalStatus,
  lastSignOfLife,
  PENDING_STATUSES,
  SIGN_OF_LIFE_FIELDS,
  type FinalStatus,
  type JobStatus,
} from '../lifecycle/job-lifecycle.js';
import { CacheJobStore, type CacheTransition } from './cache-job.store.js';
import { JobCacheKeys } from './job-cache.keys.js';
import type { CacheTtl } from './job-read-cache.js';
import {
  CLEANUP_BATCH,
  type JobListQuery,
  type JobRecord,
  type JobStatusCounts,
} from './job-store.js';
import { jobColumn, recordFrom, toColumnValue } from './job-table.schema.js';

/** The commands used, as `@redis/client` 4 and 5 name them. */
export interface RedisScriptClient {
  evalSha(
    sha1: string,
    options: { keys: string[]; arguments: string[] },
  ): Promise<unknown>;
  eval(
    script: string,
    options: { keys: string[]; arguments: string[] },
  ): Promise<unknown>;
  hGetAll(key: string): Promise<unknown>;
  del(keys: string[]): Promise<unknown>;
  zCard(key: string): Promise<unknown>;
  /** False while the client connects or reconnects: commands then wait in its offline queue. */
  isReady?: boolean;
  /** False once the client was closed: it will not connect again. */
  isOpen?: boolean;
  once?(event: 'ready', listener: () => void): unknown;
}

/** What `@keyv/redis`'s `KeyvRedis` offers: a client it connects on demand. */
export interface RedisClientSource {
  getClient(): Promise<RedisScriptClient>;
}

// Each transition is one script, so that Redis runs its check and its write
// with nothing in between, whichever instance sends it. Jobs are hashes: the
// scripts compare and set fields without parsing any JSON, so the output is
// stored byte for byte. Status sets (",0,1,") and the sign-of-life fields
// come as arguments from the lifecycle rules: no script restates one.

// KEYS: job, pending index, list index, list index of its scope[, merge
// key]. ARGV: ttl, id, job key prefix, last sign of life, pending statuses,
// start time, then field/value pairs.
const CREATE = `
local ttl = tonumber(ARGV[1])
if KEYS[5] then
  local holder = redis.call('GET', KEYS[5])
  if holder then
    local status = redis.call('HGET', ARGV[3] .. holder, 'status')
    if status and string.find(ARGV[5], ',' .. status .. ',', 1, true) then
      return holder
    end
  end
  if ttl > 0 then redis.call('SET', KEYS[5], ARGV[2], 'PX', ttl)
  else redis.call('SET', KEYS[5], ARGV[2]) end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
return ''`;

// KEYS: job, pending index[, index of ended jobs with the new status]. ARGV:
// allowed statuses, ttl, index action ('pending' | 'ended' | ''), id, merge
// key prefix, sign-of-life fields as "a,b", a cutoff the last sign of life
// must be before ('' for none), then field/value pairs.
const TRANSITION = `
local function signOfLife()
  local latest = nil
  for field in string.gmatch(ARGV[6], '[^,]+') do
    local value = tonumber(redis.call('HGET', KEYS[1], field))
    if value and (latest == nil or value > latest) then latest = value end
  end
  return latest
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status or not string.find(ARGV[1], ',' .. status .. ',', 1, true) then
  return 0
end
if ARGV[7] ~= '' and not (signOfLife() < tonumber(ARGV[7])) then return 0 end
local mergeKey = redis.call('HGET', KEYS[1], 'mergeKey')
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl)
else redis.call('PERSIST', KEYS[1]) end
if ARGV[3] == 'pending' then
  redis.call('ZADD', KEYS[2], signOfLife(), ARGV[4])
elseif ARGV[3] == 'ended' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'endTime'), ARGV[4])
  if mergeKey and mergeKey ~= '' and
      redis.call('GET', ARGV[5] .. mergeKey) == ARGV[4] then
    redis.call('DEL', ARGV[5] .. mergeKey)
  end
end
return 1`;

// KEYS: job. ARGV: ttl, '1' to write only where nothing is cached, then
// field/value pairs.
const PUT = `
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;

// KEYS: pending index. ARGV: cutoff, limit, job key prefix. Index entries
// whose job expired are dropped on the way.
const STALE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1],
  'LIMIT', 0, tonumber(ARGV[2]))
local live = {}
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[3] .. id) == 1 then
    table.insert(live, id)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return live`;

// KEYS: an index of ended jobs, the list index. ARGV: end time before
// which they go, batch size, job key prefix, list index prefix of a scope.
// Returns how many existed (the others had expired).
const DELETE_ENDED = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1],
  'LIMIT', 0, tonumber(ARGV[2]))
local deleted = 0
for _, id in ipairs(ids) do
  local scope = redis.call('HGET', ARGV[3] .. id, 'scope')
  if scope then redis.call('ZREM', ARGV[4] .. scope, id) end
  deleted = deleted + redis.call('DEL', ARGV[3] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return {#ids, deleted}`;

// KEYS: a list index. ARGV: the start time and id of the job the page
// starts after ('' for the first page), limit, statuses (",2,3," or ''
// for all), job key prefix. Walks the index newest first in chunks; entries
// whose job expired are dropped on the way.
const LIST = `
local found = {}
local limit = tonumber(ARGV[3])
local max = '+inf'
if ARGV[1] ~= '' then max = ARGV[1] end
local offset = 0
while #found < limit do
  local chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf',
    'WITHSCORES', 'LIMIT', offset, 200)
  if #chunk == 0 then break end
  offset = offset + #chunk / 2
  for i = 1, #chunk, 2 do
    local id, score = chunk[i], chunk[i + 1]
    if ARGV[1] == '' or tonumber(score) < tonumber(ARGV[1]) or id < ARGV[2] then
      local status = redis.call('HGET', ARGV[5] .. id, 'status')
      if not status then
        redis.call('ZREM', KEYS[1], id)
        offset = offset - 1
      elseif ARGV[4] == '' or string.find(ARGV[4], ',' .. status .. ',', 1, true) then
        table.insert(found, id)
        if #found >= limit then break end
      end
    end
  end
end
return found`;

// KEYS: a list index. ARGV: job key prefix. Statuses and their counts, as
// a flat list; entries whose job expired are dropped on the way.
const COUNT_LISTED = `
local counts = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local status = redis.call('HGET', ARGV[1] .. id, 'status')
  if status then counts[status] = (counts[status] or 0) + 1
  else redis.call('ZREM', KEYS[1], id) end
end
local flat = {}
for status, count in pairs(counts) do
  table.insert(flat, status)
  table.insert(flat, count)
end
return flat`;

const statusSet = (statuses: readonly JobStatus[]) => `,${statuses.join(',')},`;
const SIGN_OF_LIFE = SIGN_OF_LIFE_FIELDS.join(',');

/**
 * Jobs in Redis, through the client of `@keyv/redis` behind the app's
 * `CACHE_MANAGER`. Every write is a Lua script: atomic across instances.
 */
export class RedisJobStore extends CacheJobStore {
  private readonly keys: JobCacheKeys;
  // One wait for the next connection, however many calls wait for it: one
  // listener per call would trip Node's MaxListeners warning in an outage.
  private reconnected: Promise<void> | undefined;

  constructor(
    private readonly source: RedisClientSource,
    prefix: string,
    ttl: CacheTtl,
  ) {
    super(ttl);
    this.keys = new JobCacheKeys(prefix);
  }

  protected async create(
    job: JobRecord,
    ttl: CacheTtl,
  ): Promise<{ id: string; merged: boolean }> {
    const keys = [
      this.keys.job(job.id),
      this.keys.pending,
      this.keys.listed,
      this.keys.listedIn(job.scope),
    ];
    if (job.mergeKey !== null) keys.push(this.keys.merge(job.mergeKey));
    const holder = await this.run(CREATE, keys, [
      String(ttl),
      job.id,
      this.keys.jobPrefix,
      String(lastSignOfLife(job)),
      statusSet(PENDING_STATUSES),
      String(job.startTime),
      ...toFields(job),
    ]);
    return holder
      ? { id: String(holder), merged: true }
      : { id: job.id, merged: false };
  }

  override async whenConnected(): Promise<boolean> {
    const client = await this.source.getClient();
    // A closed client fails the call at once, as it should.
    if (
      client.isReady !== false ||
      client.isOpen === false ||
      typeof client.once !== 'function'
    )
      return false;
    this.reconnected ??= new Promise<void>((resolve) =>
      client.once!('ready', () => {
        this.reconnected = undefined;
        resolve();
      }),
    );
    await this.reconnected;
    return true;
  }

  async get(id: string): Promise<JobRecord | null> {
    const client = await this.source.getClient();
    return fromFields(await client.hGetAll(this.keys.job(id)));
  }

  async put(job: JobRecord, ttl: CacheTtl): Promise<void> {
    const onlyIfAbsent = isFinalStatus(job.status) ? '0' : '1';
    await this.run(
      PUT,
      [this.keys.job(job.id)],
      [String(ttl), onlyIfAbsent, ...toFields(job)],
    );
  }

  protected async transition(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
    ttl: CacheTtl,
    how: CacheTransition,
  ): Promise<boolean> {
    const keys = [this.keys.job(id), this.keys.pending];
    let indexAction = '';
    if (
      how.indexed &&
      change.status !== undefined &&
      isFinalStatus(change.status)
    ) {
      indexAction = 'ended';
      keys.push(this.keys.ended(change.status));
    } else if (how.indexed) indexAction = 'pending';
    const applied = await this.run(TRANSITION, keys, [
      statusSet(from),
      String(ttl),
      indexAction,
      id,
      this.keys.mergePrefix,
      SIGN_OF_LIFE,
      how.silentBefore === undefined ? '' : String(how.silentBefore),
      ...toFields(change),
    ]);
    return Number(applied) === 1;
  }

  protected async stale(cutoff: number, limit: number): Promise<string[]> {
    const ids = await this.run(
      STALE,
      [this.keys.pending],
      [String(cutoff), String(limit), this.keys.jobPrefix],
    );
    return (ids as unknown[]).map(String);
  }

  protected async deleteEndedBefore(
    status: FinalStatus,
    before: number,
  ): Promise<number> {
    let deleted = 0;
    for (;;) {
      const [seen, gone] = (await this.run(
        DELETE_ENDED,
        [this.keys.ended(status), this.keys.listed],
        [
          String(before),
          String(CLEANUP_BATCH),
          this.keys.jobPrefix,
          this.keys.listedIn(''),
        ],
      )) as [number, number];
      deleted += Number(gone);
      if (Number(seen) < CLEANUP_BATCH) return deleted;
    }
  }

  async list(query: JobListQuery): Promise<JobRecord[]> {
    const index =
      query.scope === undefined
        ? this.keys.listed
        : this.keys.listedIn(query.scope);
    const ids = (await this.run(
      LIST,
      [index],
      [
        query.after === undefined ? '' : String(query.after.startTime),
        query.after?.id ?? '',
        String(query.limit),
        query.statuses === undefined ? '' : statusSet(query.statuses),
        this.keys.jobPrefix,
      ],
    )) as unknown[];
    const jobs = await Promise.all(ids.map((id) => this.get(String(id))));
    return jobs.filter((job): job is JobRecord => job !== null);
  }

  /**
   * Per scope, the scope's index is walked (one HGET per job in it). For
   * all scopes, the pending index is walked and the ended ones are counted,
   * which may include jobs that expired since the last cleanup.
   */
  async counts(scope?: string): Promise<JobStatusCounts> {
    if (scope !== undefined)
      return countsOf(
        await this.run(
          COUNT_LISTED,
          [this.keys.listedIn(scope)],
          [this.keys.jobPrefix],
        ),
      );
    const client = await this.source.getClient();
    const counts = countsOf(
      await this.run(COUNT_LISTED, [this.keys.pending], [this.keys.jobPrefix]),
    );
    for (const status of FINAL_STATUSES) {
      const count = Number(await client.zCard(this.keys.ended(status)));
      if (count > 0) counts[status] = count;
    }
    return counts;
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const client = await this.source.getClient();
    await client.del(ids.map((id) => this.keys.job(id)));
  }

  /** EVALSHA, and EVAL once when Redis does not know the script yet (or forgot it). */
  private async run(
    script: string,
    keys: string[],
    args: string[],
  ): Promise<unknown> {
    const client = await this.source.getClient();
    const options = { keys, arguments: args };
    try {
      return await client.evalSha(sha1Of(script), options);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT'))
        throw error;
      return client.eval(script, options);
    }
  }
}

const sha1s = new Map<string, string>();
function sha1Of(script: string): string {
  let sha1 = sha1s.get(script);
  if (!sha1) {
    sha1 = createHash('sha1').update(script).digest('hex');
    sha1s.set(script, sha1);
  }
  return sha1;
}

/** A record as hash fields, encoded as the table's columns are; `null` is the empty string. */
function toFields(record: Partial<JobRecord>): string[] {
  return (Object.keys(record) as (keyof JobRecord)[]).flatMap((property) => {
    if (record[property] === undefined) return [];
    const value = toColumnValue(jobColumn(property), record[property]);
    return [property, value === null ? '' : String(value)];
  });
}

/** A flat [status, count, …] reply as counts. */
function countsOf(reply: unknown): JobStatusCounts {
  const flat = reply as unknown[];
  const counts: JobStatusCounts = {};
  for (let i = 0; i < flat.length; i += 2)
    counts[Number(flat[i]) as JobStatus] = Number(flat[i + 1]);
  return counts;
}

function fromFields(reply: unknown): JobRecord | null {
  // RESP2 answers HGETALL with an object, RESP3 may with a Map.
  const hash = (
    reply instanceof Map ? Object.fromEntries(reply) : (reply ?? {})
  ) as Record<string, string>;
  if (hash.id === undefined) return null;
  return recordFrom((column) => hash[column.property]);
}
