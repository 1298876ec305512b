import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Inside the repository, so that the app finds NestJS, TypeORM and SQLite in
// the repository's node_modules, as a real app finds its own.
const work = join(root, 'test/.artifacts/package-app');

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('the published package', () => {
  it('packs with its build and types, installs into a fresh app, and runs a job from 0 to 100', () => {
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
    const listing = run('tar', ['-tzf', tarball], work).split('\n');
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/README.md');
    expect(
      listing.filter((file) => /\.spec\.|tsbuildinfo|\/src\//.test(file)),
    ).toEqual([]);

    writeFileSync(
      join(work, 'package.json'),
      JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }),
    );
    // Peers come from the repository's node_modules, as an app that has them already.
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
    cpSync(join(root, 'test/fixtures/package-app'), work, { recursive: true });
    run(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], work);

    const output = run(
      'node',
      [join(work, 'dist/main.js'), join(work, 'app.sqlite')],
      work,
    );
    const status = JSON.parse(output.trim().split('\n').pop()!);
    expect(status).toMatchObject({
      status: 2,
      progress: 100,
      statusText: 'report ready',
    });
  }, 180_000);
});
