// `npm run bench:probe [-- express|fastify] [-- --idle MS]`: where one job's
// pickup time and memory go, on SQLite. Not a figure of the bench, the
// profile behind its misses: the median time from start() to each step of
// one job run alone (start → insert → queue → worker request → its arrival
// → claim → handler; with `--idle`, MS after the last job ended), the bytes
// allocated per job (V8's sampling heap profiler, counting what the GC
// collected too) and those of them that outlived a young collection, and
// the heap a burst of 3,000 jobs leaves as garbage before V8 collects it.
import 'reflect-metadata';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Server } from 'node:http';
import type { Type } from '@nestjs/common';
import { JobStatus } from 'nestjs-backjob';
import { createBenchApp, type Platform } from '../apps/bench-app.js';
import { prepareStore } from '../apps/bench-store.js';
import {
  JobScript,
  scriptedJobApp,
  scriptedRoute,
} from '../apps/scripted-job.controller.js';
import { JobLedger } from '../ledger.js';
import { CHILD_ENV, TAG_ENV } from '../resources.js';
import { percentile, sleep, waitUntil } from '../stats.js';

// The module's own classes, from the same build the app imports: the
// package exports only its public API.
const built = import.meta.resolve('nestjs-backjob');
const internal = async (path: string, name: string) =>
  ((await import(new URL(path, built).href)) as Record<string, Type>)[name];
const JobTracker = await internal('./storage/job-tracker.js', 'JobTracker');
const JobLauncher = await internal('./flow/job-launcher.js', 'JobLauncher');
const JobQueue = await internal('./flow/job-queue.js', 'JobQueue');
const JobWorker = await internal('./flow/job-worker.js', 'JobWorker');
const SelfHttpClient = await internal(
  './flow/self-http.client.js',
  'SelfHttpClient',
);
const median = (values: number[]) => percentile(values, 50);

process.env[TAG_ENV] ??= `probe${process.pid}`;
process.env[CHILD_ENV] ??= 'probe';
const { values: args, positionals } = parseArgs({
  options: { idle: { type: 'string', default: '0' } },
  allowPositionals: true,
});
const platform = (positionals[0] ?? 'express') as Platform;
const idleMs = Number(args.idle);
if (!['express', 'fastify'].includes(platform) || !(idleMs >= 0)) {
  console.error(
    `Usage: npm run bench:probe [-- express|fastify] [-- --idle MS], not "${process.argv.slice(2).join(' ')}".`,
  );
  process.exit(2);
}

const STEPS = [
  'start() called',
  'insert called',
  'inserted',
  'queued',
  'worker request sent',
  'arrived at the server',
  'reached BackJob',
  'claimed',
] as const;
type Step = (typeof STEPS)[number];

const store = await prepareStore('sqlite');
const ledger = new JobLedger();
const { app, backjob } = await createBenchApp({
  store,
  platform,
  ...scriptedJobApp(ledger, new JobScript()),
});
try {
  let seq = 0;
  // Each job starts once the one before has ended (its answer too), as the
  // bench's pickup figure does: nothing else runs.
  const oneJob = async () => {
    const done = ledger.whenDone(seq);
    const id = await backjob.start(scriptedRoute(seq++, performance.now()));
    await done;
    await waitUntil(
      async () => (await backjob.getStatus(id))?.status === JobStatus.Completed,
      () => `job ${id} did not complete`,
      10_000,
      1,
    );
  };
  const many = async (count: number) => {
    const from = seq;
    await Promise.all(
      Array.from({ length: count }, () => {
        const done = ledger.whenDone(seq);
        return backjob
          .start(scriptedRoute(seq++, performance.now()))
          .then(() => done);
      }),
    );
    return seq - from;
  };
  for (let i = 0; i < 300; i++) await oneJob();

  // 1. Each step of a job run alone, from the start() call.
  const at = new Map<Step, number>();
  const mark = (step: Step) => at.set(step, performance.now());
  const onCall = (type: Type, method: string, before: Step, after?: Step) => {
    const target = app.get(type) as Record<string, unknown>;
    const original = target[method] as (...args: unknown[]) => unknown;
    target[method] = function (this: unknown, ...args: unknown[]) {
      mark(before);
      const result = original.apply(this, args);
      if (after && result instanceof Promise)
        void result.then(() => mark(after));
      return result;
    };
  };
  onCall(JobLauncher, 'start', 'start() called');
  onCall(JobTracker, 'insert', 'insert called', 'inserted');
  onCall(JobQueue, 'admit', 'queued');
  onCall(SelfHttpClient, 'send', 'worker request sent');
  onCall(JobWorker, 'run', 'reached BackJob');
  onCall(JobTracker, 'claim', 'reached BackJob', 'claimed');
  (app.getHttpServer() as Server).prependListener('request', () =>
    mark('arrived at the server'),
  );
  const offsets = new Map<Step | 'handler', number[]>();
  for (let i = 0; i < 1000; i++) {
    if (idleMs > 0) await sleep(idleMs);
    at.clear();
    const began = performance.now();
    await oneJob();
    for (const [step, time] of at)
      offsets.set(step, [...(offsets.get(step) ?? []), time - began]);
    offsets.set('handler', [
      ...(offsets.get('handler') ?? []),
      ledger.pickups.at(-1)!,
    ]);
  }
  console.log(
    `Pickup, ${platform}${idleMs > 0 ? `, ${idleMs} ms idle before each` : ''}: median ms after start() was called`,
  );
  for (const step of [...STEPS, 'handler' as const])
    console.log(
      `  ${step.padEnd(24)} ${median(offsets.get(step) ?? [NaN]).toFixed(3)}`,
    );

  // 2. Bytes allocated per job, 20 at a time (the default maxConcurrentJobs):
  // all of them, then only those that lived through a young collection
  // (what a full collection freed, or what still lives): the garbage that
  // makes a burst's peak RSS.
  const perJob = async (title: string, minorToo: boolean) => {
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: minorToo,
    });
    const jobs = await many(1000);
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    const byPackage = new Map<string, number>();
    const walk = (node: (typeof profile)['head']) => {
      const where = packageOf(node.callFrame.url);
      byPackage.set(where, (byPackage.get(where) ?? 0) + node.selfSize);
      node.children.forEach(walk);
    };
    walk(profile.head);
    const total = [...byPackage.values()].reduce((a, b) => a + b, 0);
    console.log(`${title}: ${(total / jobs / 1024).toFixed(1)} KB`);
    for (const [where, bytes] of [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10))
      console.log(
        `  ${where.padEnd(24)} ${(bytes / jobs / 1024).toFixed(1)} KB`,
      );
  };
  await perJob('Allocated per job', true);
  await perJob('Of which outlived a young collection, per job', false);

  // 3. The heap of a burst: at its peak, and once collected.
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const sampler = setInterval(
    () => (peak = Math.max(peak, process.memoryUsage().heapUsed)),
    5,
  );
  await many(3000);
  clearInterval(sampler);
  globalThis.gc?.();
  const mb = (bytes: number) => `${Math.round(bytes / 1048576)} MB`;
  console.log(
    `Burst of 3,000: heap ${mb(before)} before, peak ${mb(peak)}, ${mb(process.memoryUsage().heapUsed)} once collected${globalThis.gc ? '' : ' (run with --expose-gc for the last figure)'}`,
  );
} finally {
  await app.close();
  await store.remove();
}

function packageOf(url: string): string {
  if (url.includes('/libs/backjob/')) return 'nestjs-backjob';
  const inModules = url.split('/node_modules/').pop()!;
  if (inModules !== url) {
    const parts = inModules.split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.startsWith('node:')) return url.slice(5).split('/')[0];
  return url || '(V8, native)';
}
