import { spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobStatus } from 'nestjs-backjob';
import { ROOT, startApp, type AppProcess } from './fixtures/app-process.js';
import { SseClient } from './fixtures/sse-client.js';
import { TEST_KEY } from './fixtures/test-app.js';

/**
 * The packed library in fresh apps, one per kind the README promises
 * (test/fixtures/package-apps). Each app is installed from its own lock,
 * outside the repository so that nothing resolves from the repository's
 * node_modules, built with its own TypeScript, and run as `node dist/main.js`.
 */
const CONSUMER_APPS = [
  {
    name: 'nest12-esm-express',
    nest: 12,
    modules: 'ES modules',
    on: 'Express',
  },
  { name: 'nest12-cjs-express', nest: 12, modules: 'CommonJS', on: 'Express' },
  { name: 'nest11-cjs-express', nest: 11, modules: 'CommonJS', on: 'Express' },
  {
    name: 'nest12-esm-fastify',
    nest: 12,
    modules: 'ES modules',
    on: 'Fastify',
  },
] as const;
const titled = CONSUMER_APPS.map(
  (app) => [`NestJS ${app.nest}, ${app.modules}, ${app.on}`, app] as const,
);
type ConsumerAppName = (typeof CONSUMER_APPS)[number]['name'];

const FIXTURES = join(ROOT, 'test/fixtures/package-apps');
// The apps' locks name the tarball there: "file:../nestjs-backjob.tgz".
const TARBALL = 'nestjs-backjob.tgz';
// BACKJOB_RELOCK=1 writes each app's lock afresh from its package.json
// (after a change of its versions, or of the library's dependencies).
const RELOCK = process.env.BACKJOB_RELOCK === '1';
const RELOCK_HINT =
  'Refresh the locks with `BACKJOB_RELOCK=1 npx vitest run test/package.e2e-spec.ts` and commit them.';
const NPM_QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

/** Runs a command; a failure shows both its streams (tsc reports on stdout). */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(
            new Error(
              `${command} ${args.join(' ')} failed in ${cwd} (exit ${code}):\n${output}`,
            ),
          ),
    );
  });
}

/** At most `n` of the tasks at once: installs and builds on a 2-core machine. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    while (active >= n) await new Promise<void>((go) => queue.push(go));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

const readJson = <T>(file: string): T =>
  JSON.parse(readFileSync(file, 'utf8')) as T;
const versionIn = (dir: string, name: string): string | undefined => {
  const file = join(dir, 'node_modules', name, 'package.json');
  return existsSync(file)
    ? readJson<{ version: string }>(file).version
    : undefined;
};

interface PackageJson {
  type?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
/** Dependency lists as text, whatever the order of their keys. */
const canonical = (...lists: (Record<string, string> | undefined)[]) =>
  JSON.stringify(
    lists.map((list) =>
      Object.entries(list ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
  );

interface Lock {
  packages: Record<string, PackageJson & { integrity?: string }>;
}

/**
 * Checks that the app's lock was made for this library's dependencies, and
 * drops the integrity of the tarball's entry: the tarball is new at every
 * run, and npm would otherwise install the old content it cached under that
 * integrity, without a word.
 */
function prepareLock(dir: string, name: ConsumerAppName): void {
  const file = join(dir, 'package-lock.json');
  if (!existsSync(file))
    throw new Error(`The ${name} app has no package-lock.json. ${RELOCK_HINT}`);
  const lock = readJson<Lock>(file);
  const entry = lock.packages['node_modules/nestjs-backjob'];
  const library = readJson<PackageJson>(
    join(ROOT, 'libs/backjob/package.json'),
  );
  const locked = canonical(entry?.dependencies, entry?.peerDependencies);
  const wanted = canonical(library.dependencies, library.peerDependencies);
  if (locked !== wanted)
    throw new Error(
      `The lock of the ${name} app was made for other dependencies of nestjs-backjob (${locked}) than the library's (${wanted}). ${RELOCK_HINT}`,
    );
  delete entry.integrity;
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}

/**
 * better-sqlite3 compiles for 1–2 minutes at every install (no prebuilt
 * binary is reachable here). The repository's node_modules has it built for
 * this Node: the apps are installed without install scripts and get that
 * binary when their lock names the same version; any other is rebuilt.
 */
async function provideSqliteBinary(dir: string): Promise<void> {
  const binary =
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  if (
    versionIn(dir, 'better-sqlite3') === versionIn(ROOT, 'better-sqlite3') &&
    existsSync(join(ROOT, binary))
  ) {
    mkdirSync(join(dir, binary, '..'), { recursive: true });
    copyFileSync(join(ROOT, binary), join(dir, binary));
  } else await run('npm', ['rebuild', 'better-sqlite3', ...NPM_QUIET], dir);
}

/** Copies, locks, installs and builds one app; resolves with its folder. */
async function prepareApp(work: string, name: ConsumerAppName) {
  const fixture = join(FIXTURES, name);
  const dir = join(work, name);
  cpSync(fixture, dir, {
    recursive: true,
    filter: (source) => !/[\\/](node_modules|dist)$/.test(source),
  });
  if (RELOCK) {
    rmSync(join(dir, 'package-lock.json'), { force: true });
    await run('npm', ['install', '--package-lock-only', ...NPM_QUIET], dir);
    const lock = readJson<Lock>(join(dir, 'package-lock.json'));
    delete lock.packages['node_modules/nestjs-backjob'].integrity;
    writeFileSync(
      join(fixture, 'package-lock.json'),
      `${JSON.stringify(lock, null, 2)}\n`,
    );
    copyFileSync(
      join(fixture, 'package-lock.json'),
      join(dir, 'package-lock.json'),
    );
  }
  prepareLock(dir, name);
  // --prefer-offline: npm's own cache serves what it has, so that only the
  // first run on a machine downloads.
  await run(
    'npm',
    ['ci', '--ignore-scripts', '--prefer-offline', ...NPM_QUIET],
    dir,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${RELOCK_HINT}`);
  });
  await provideSqliteBinary(dir);
  await run('npm', ['run', 'build', '--silent'], dir);
  return dir;
}

/**
 * The orders service the apps' report job calls (ORDERS_URL). Each request
 * waits until the test answers it: that is how a test holds a job half-way.
 */
class OrdersService {
  private readonly held: HeldOrders[] = [];
  private readonly waiting: ((request: HeldOrders) => void)[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OrdersService> {
    let service!: OrdersService;
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://orders');
      service.arrived({
        customer: url.searchParams.get('customer') ?? '',
        answer: (orders) => {
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify(orders));
        },
      });
    });
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    const { port } = server.address() as AddressInfo;
    return (service = new OrdersService(server, `http://127.0.0.1:${port}`));
  }

  /** The next request that came (now, if one is waiting). */
  next(): Promise<HeldOrders> {
    const request = this.held.shift();
    if (request) return Promise.resolve(request);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private arrived(request: HeldOrders): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(request);
    else this.held.push(request);
  }
}

interface HeldOrders {
  customer: string;
  answer(orders: unknown[]): void;
}

const ALICE = { authorization: 'Bearer alice-token' };
const BOB = { authorization: 'Bearer bob-token' };

describe('the published package', () => {
  let work: string;
  let listing: string[];
  let orders: OrdersService;
  const prepared = new Map<ConsumerAppName, Promise<string>>();

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'backjob-package-apps-'));
    await run(
      'npm',
      [
        'pack',
        '--workspace',
        'libs/backjob',
        '--pack-destination',
        work,
        '--silent',
      ],
      ROOT,
    );
    const packed = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
    renameSync(join(work, packed), join(work, TARBALL));
    listing = (await run('tar', ['-tzf', TARBALL], work))
      .split('\n')
      .filter(Boolean);
    orders = await OrdersService.start();
    // All apps are prepared from here, two at a time; each describe below
    // waits for its own. A failure is reported by that describe.
    const slot = limiter(2);
    for (const { name } of CONSUMER_APPS) {
      const ready = slot(() => prepareApp(work, name));
      ready.catch(() => undefined);
      prepared.set(name, ready);
    }
  }, 120_000);

  afterAll(async () => {
    await orders?.close();
    // Every app has stopped by now (see the last test of each).
    await Promise.allSettled(prepared.values());
    if (work) rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('holds the build, its types, README, CHANGELOG and LICENSE, and no tests, fixtures, sources or source maps', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'package.json',
    ])
      expect(listing).toContain(`package/${file}`);
    expect(
      listing.filter((file) =>
        /\.spec\.|fixtures|tsbuildinfo|\.map$|\/src\/|\.ts$(?<!\.d\.ts$)/.test(
          file,
        ),
      ),
    ).toEqual([]);
  });

  describe.each(titled)(
    'in a fresh app on %s',
    (_, { name, nest, modules }) => {
      let dir: string;
      let app: AppProcess | undefined;
      const url = (path: string) => `${app!.url}${path}`;
      const startReport = async (headers: Record<string, string>) => {
        const response = await fetch(url('/reports'), {
          method: 'POST',
          headers,
        });
        expect(response.status).toBe(201);
        return ((await response.json()) as { id: string }).id;
      };

      beforeAll(async () => {
        dir = await prepared.get(name)!;
        app = await startApp(
          { dir, main: join(dir, 'dist/main.js') },
          {
            BACKJOB_KEY: TEST_KEY,
            DATABASE_FILE: join(dir, 'app.sqlite'),
            ORDERS_URL: orders.url,
          },
          { label: `The ${name} app` },
        );
      }, 600_000);
      afterAll(() => app?.kill('SIGKILL'));

      it('is installed with the versions of its lock, as the module system it says', () => {
        const pkg = readJson<PackageJson>(join(dir, 'package.json'));
        for (const [dependency, version] of Object.entries({
          ...pkg.dependencies,
          ...pkg.devDependencies,
        }))
          if (dependency !== 'nestjs-backjob')
            expect([dependency, versionIn(dir, dependency)]).toEqual([
              dependency,
              version,
            ]);
        expect(versionIn(dir, '@nestjs/core')).toMatch(
          new RegExp(`^${nest}\\.`),
        );
        expect(pkg.type).toBe(modules === 'CommonJS' ? 'commonjs' : 'module');
        // A CommonJS app loads the ES module package with require().
        const controller = readFileSync(
          join(dir, 'dist/reports.controller.js'),
          'utf8',
        );
        if (modules === 'CommonJS')
          expect(controller).toContain('require("nestjs-backjob")');
        else expect(controller).toContain(`from 'nestjs-backjob'`);
      });

      it('runs a job to completion as the caller, through the guard that checks her token', async () => {
        expect((await fetch(url('/reports'), { method: 'POST' })).status).toBe(
          401,
        );
        const id = await startReport(ALICE);
        const request = await orders.next();
        expect(request.customer).toBe('alice');
        request.answer([{ id: 1 }, { id: 2 }, { id: 3 }]);

        let status: { status: number };
        do {
          const response = await fetch(url(`/jobs/${id}`), { headers: ALICE });
          expect(response.status).toBe(200);
          status = (await response.json()) as { status: number };
        } while (status.status < JobStatus.Completed);
        expect(status).toMatchObject({
          id,
          status: JobStatus.Completed,
          progress: 100,
          statusText: 'Report for Alice: 3 orders',
        });
        // Her job is hers: canWatch() refuses Bob.
        expect((await fetch(url(`/jobs/${id}`), { headers: BOB })).status).toBe(
          403,
        );
      });

      it('streams the progress and the end of a job to its user over Server-Sent Events', async () => {
        const id = await startReport(ALICE);
        // The job has reported 10% and waits for the orders.
        const request = await orders.next();
        const stream = await SseClient.open(url(`/jobs/${id}/events`), ALICE);
        expect(stream.status).toBe(200);
        await vi.waitFor(
          () =>
            expect(stream.data).toContainEqual(
              expect.objectContaining({
                status: JobStatus.InProgress,
                progress: 10,
              }),
            ),
          { timeout: 10_000 },
        );
        request.answer([{ id: 4 }, { id: 5 }]);
        await stream.waitForEnd();
        expect(stream.hasEnded).toBe(true);
        expect(stream.data.at(-1)).toMatchObject({
          id,
          status: JobStatus.Completed,
          progress: 100,
          statusText: 'Report for Alice: 2 orders',
        });

        const bobs = await SseClient.open(url(`/jobs/${id}/events`), BOB);
        bobs.close();
        expect(bobs.status).toBe(403);
      });

      it('stops on SIGTERM, having logged no error nor warning', async () => {
        await app!.kill('SIGTERM');
        expect(
          app!.child.exitCode === 0 || app!.child.signalCode === 'SIGTERM',
        ).toBe(true);
        if (!process.env.BACKJOB_TEST_LOGS) expect(app!.output()).toBe('');
      });
    },
  );
});
