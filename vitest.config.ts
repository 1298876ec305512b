import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  defineConfig,
  type TestProjectInlineConfiguration,
} from 'vitest/config';
import {
  findService,
  TEST_STORES,
  type ServiceCheck,
  type TestService,
  type TestStoreName,
} from './test/fixtures/test-stores.js';

// Tests of one setup of their own (module and table options, the packed
// package, the example app as a process and its page in a browser, a Redis
// the test starts itself): run once, in the SQLite project.
const SQLITE_ONLY = [
  'test/cache-only-outage.e2e-spec.ts',
  'test/module.e2e-spec.ts',
  'test/storage-options.e2e-spec.ts',
  'test/package.e2e-spec.ts',
  'test/browser.e2e-spec.ts',
  'test/dashboard-browser.e2e-spec.ts',
  'test/shutdown.e2e-spec.ts',
  'test/instance-death.e2e-spec.ts',
  'test/burst.e2e-spec.ts',
  'test/platform.e2e-spec.ts',
  'test/example.e2e-spec.ts',
];
// Tests that need PostgreSQL and Redis together, run once, in that project
// (cache-faults brings a redis-server of its own rather than the shared one).
const POSTGRES_AND_REDIS_ONLY = [
  'test/cache-faults.e2e-spec.ts',
  'test/multi-instance.e2e-spec.ts',
];
const NOTICE = 'test/fixtures/service-unavailable.spec.ts';

/**
 * The behavioural suite (every test/*.e2e-spec.ts but the files above) runs
 * once per store: SQLite, PostgreSQL, MariaDB, PostgreSQL + Redis and Redis
 * alone, each a vitest project. A project whose service does not answer is
 * skipped with a message that says how to enable it, or under CI=true fails
 * the run.
 *
 * It runs again on Fastify, one project per store, `<store>@fastify`
 * (BACKJOB_TEST_PLATFORM=fastify): the platform seam is one code path, but
 * each store's timing meets the worker request differently.
 *
 * `npx vitest run test/x.e2e-spec.ts` (a run that names files) runs them on
 * SQLite alone, to stay fast; add `--project postgres` (or any project
 * name, e.g. `--project sqlite@fastify`), or set
 * BACKJOB_TEST_STORES=postgres,redis, to pick stores.
 */
export default defineConfig(async () => {
  const stores = storesToRun(process.argv.slice(2));
  const needed = [
    ...new Set(stores.flatMap((store) => TEST_STORES[store].services)),
  ];
  const checks = new Map<TestService, ServiceCheck>(
    await Promise.all(
      needed.map(
        async (service) => [service, await findService(service)] as const,
      ),
    ),
  );
  return {
    resolve: {
      alias: {
        'nestjs-backjob': fileURLToPath(
          new URL('./libs/backjob/src/index.ts', import.meta.url),
        ),
      },
    },
    test: {
      globals: true,
      pool: 'forks',
      // Most tests wait on timers and sockets, so even two cores run two
      // files at once (vitest's default there is one); more than two made
      // the timing-sensitive ones flaky on two cores.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      testTimeout: 30_000,
      hookTimeout: 30_000,
      setupFiles: ['reflect-metadata'],
      projects: [
        ...stores.map((store) => project(store, 'express', checks)),
        ...stores.map((store) => project(store, 'fastify', checks)),
      ],
    },
  };
});

function project(
  store: TestStoreName,
  platform: 'express' | 'fastify',
  checks: Map<TestService, ServiceCheck>,
): TestProjectInlineConfiguration {
  const name = platform === 'express' ? store : `${store}@${platform}`;
  const env: Record<string, string> = {
    BACKJOB_TEST_STORE: store,
    BACKJOB_TEST_PLATFORM: platform,
  };
  // The files of one setup of their own, and the unit tests, run once.
  const once = store === 'sqlite' && platform === 'express';
  const problems: string[] = [];
  for (const service of TEST_STORES[store].services) {
    const check = checks.get(service)!;
    if ('problem' in check) problems.push(check.problem);
    else env[check.env] = check.url;
  }
  if (problems.length > 0) {
    const message = `The "${name}" tests cannot run: ${problems.join(' ')}`;
    if (process.env.CI === 'true') throw new Error(message);
    warnOnce(`Skipping the "${name}" tests. ${message}`);
    return {
      extends: true,
      test: {
        name,
        include: [NOTICE],
        env: { ...env, BACKJOB_TEST_UNAVAILABLE: message },
      },
    };
  }
  const own = store === 'postgres+redis' ? POSTGRES_AND_REDIS_ONLY : [];
  return {
    extends: true,
    test: {
      name,
      include: [
        ...(once ? ['libs/**/*.spec.ts'] : []),
        'test/**/*.e2e-spec.ts',
      ],
      exclude: [
        ...(once ? [] : SQLITE_ONLY),
        ...POSTGRES_AND_REDIS_ONLY.filter((file) => !own.includes(file)),
        '**/node_modules/**',
      ],
      env,
    },
  };
}

// vitest reads this file more than once per run.
const warned: Set<string> = ((
  globalThis as { backjobTestWarnings?: Set<string> }
).backjobTestWarnings ??= new Set());

function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(message);
}

/** Every store, unless the command line names test files (then SQLite, and what those files need). */
function storesToRun(args: string[]): TestStoreName[] {
  const all = Object.keys(TEST_STORES) as TestStoreName[];
  const chosen = process.env.BACKJOB_TEST_STORES;
  if (chosen) {
    const names = chosen.split(',').map((name) => name.trim());
    const unknown = names.filter((name) => !(name in TEST_STORES));
    if (unknown.length > 0)
      throw new Error(
        `BACKJOB_TEST_STORES names ${unknown.join(', ')}; the stores are ${all.join(', ')}.`,
      );
    return names as TestStoreName[];
  }
  const files = fileFilters(args);
  if (files.length === 0 || args.some((a) => a.startsWith('--project')))
    return all;
  const needsBoth = files.some((filter) =>
    POSTGRES_AND_REDIS_ONLY.some((file) => file.includes(filter)),
  );
  return needsBoth ? ['sqlite', 'postgres+redis'] : ['sqlite'];
}

// Options of the vitest CLI that take a value, so that the value is not
// taken for a file filter.
const VALUE_OPTIONS = new Set([
  '-t',
  '--testNamePattern',
  '--project',
  '-c',
  '--config',
  '-r',
  '--root',
  '--dir',
  '--reporter',
  '--outputFile',
  '--shard',
  '--pool',
  '--maxWorkers',
  '--environment',
  '--mode',
  '--bail',
  '--retry',
  '--testTimeout',
  '--hookTimeout',
]);
const COMMANDS = new Set(['run', 'watch', 'dev', 'related', 'list', 'bench']);

function fileFilters(args: string[]): string[] {
  const filters: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith('-')) {
      if (VALUE_OPTIONS.has(arg)) i++;
    } else if (!(filters.length === 0 && COMMANDS.has(arg))) filters.push(arg);
  }
  return filters;
}
