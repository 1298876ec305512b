import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the repository, so that the apps find NestJS, TypeORM and SQLite in
// the repository's node_modules, as a real app finds its own.
const work = join(root, 'test/.artifacts/package-app');

// tsc reports its errors on stdout: a failure shows both streams.
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`,
    );
  }
}

/**
 * Builds the fixture app in `dir` as an ES module app or a CommonJS one
 * (its own package.json says which), runs it, and returns the job's final
 * status it printed.
 */
function buildAndRun(
  dir: string,
  type: 'module' | 'commonjs',
  tsconfig: string,
  dependencies?: Record<string, string>,
): unknown {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `fresh-${type}-app`, private: true, type }),
  );
  if (dependencies)
    run(
      'npm',
      [
        'install',
        ...Object.entries(dependencies).map(([name, v]) => `${name}@${v}`),
        '--save-exact',
        '--legacy-peer-deps',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
      ],
      dir,
    );
  cpSync(join(root, 'test/fixtures/package-app'), dir, { recursive: true });
  run(join(root, 'node_modules/.bin/tsc'), ['-p', tsconfig], dir);
  const output = run(
    'node',
    [join(dir, 'dist/main.js'), join(dir, 'app.sqlite')],
    dir,
  );
  return JSON.parse(output.trim().split('\n').pop()!);
}

const finished = { status: 2, progress: 100, statusText: 'report ready' };

describe('the published package', () => {
  let listing: string[];
  beforeAll(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    run(
      'npm',
      [
        'pack',
        '--workspace',
        'libs/backjob',
        '--pack-destination',
        work,
        '--silent',
      ],
      root,
    );
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
    listing = run('tar', ['-tzf', tarball], work).split('\n').filter(Boolean);
    writeFileSync(
      join(work, 'package.json'),
      JSON.stringify({ name: 'fresh-apps', private: true }),
    );
    // Peers come from the repository's node_modules, as an app that has them
    // already. Both apps below live in this folder and share this install,
    // as the apps of a monorepo would.
    run(
      'npm',
      [
        'install',
        `./${tarball}`,
        '--legacy-peer-deps',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
      ],
      work,
    );
  }, 120_000);

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
    expect(
      readFileSync(join(work, 'node_modules/nestjs-backjob/LICENSE'), 'utf8'),
    ).toContain('Copyright (c) 2026 the nestjs-backjob authors');
  });

  it('runs a job from 0 to 100 in an ES module app', () => {
    expect(
      buildAndRun(join(work, 'esm'), 'module', 'tsconfig.json'),
    ).toMatchObject(finished);
  }, 60_000);

  // Node ≥ 20.19 loads the ES module package with require(): the package
  // exports it under the `require` condition too.
  it('runs a job from 0 to 100 in a CommonJS app', () => {
    expect(
      buildAndRun(join(work, 'cjs'), 'commonjs', 'tsconfig.cjs.json'),
    ).toMatchObject(finished);
  }, 60_000);

  // The newest NestJS 11 and what goes with it, from the registry; SQLite,
  // reflect-metadata and rxjs come from the repository's node_modules.
  it('runs a job from 0 to 100 in an app on NestJS 11 and TypeORM 0.3', () => {
    const dir = join(work, 'nest11');
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
    expect(
      buildAndRun(dir, 'module', 'tsconfig.json', {
        '@nestjs/common': '11.2.10',
        '@nestjs/core': '11.2.10',
        '@nestjs/platform-express': '11.2.10',
        '@nestjs/typeorm': '11.0.3',
        '@nestjs/schedule': '6.1.3',
        typeorm: '0.3.31',
        'nestjs-backjob': `file:../${tarball}`,
      }),
    ).toMatchObject(finished);
    const installed = (name: string) =>
      (
        JSON.parse(
          readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8'),
        ) as { version: string }
      ).version;
    expect([installed('@nestjs/core'), installed('typeorm')]).toEqual([
      '11.2.10',
      '0.3.31',
    ]);
  }, 180_000);
});
