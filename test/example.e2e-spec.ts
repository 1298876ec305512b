import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobStatus } from 'nestjs-backjob';
import {
  buildExample,
  removeExampleBuild,
  startExample,
  type ExampleProcess,
} from './fixtures/example-process.js';
import { SseClient } from './fixtures/sse-client.js';
import { TEST_KEY } from './fixtures/test-app.js';

// The example app (apps/example) built and run as `npm start` runs it, on
// each HTTP platform its PLATFORM setting offers. It runs on a SQLite file
// of its own, once (see vitest.config.ts).
describe('the example app, as `npm start` runs it', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'backjob-example-'));
    buildExample();
  }, 120_000);
  afterAll(() => {
    removeExampleBuild();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (platform: string) => ({
    PLATFORM: platform,
    SQLITE_FILE: join(dir, `${platform}.sqlite`),
    BACKJOB_KEY: TEST_KEY,
    // Short steps: the test waits for the job's end, not for a time.
    EXAMPLE_STEP_MS: '20',
  });

  describe.each(['express', 'fastify'])('with PLATFORM=%s', (platform) => {
    let example: ExampleProcess;
    const asAda = { cookie: 'demo_user=Ada' };
    const start = async (kind: string) => {
      const response = await fetch(`${example.url}/jobs/${kind}`, {
        method: 'POST',
        headers: asAda,
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string }).id;
    };
    const followToTheEnd = async (id: string) => {
      const stream = await SseClient.open(
        `${example.url}/jobs/${id}/events`,
        asAda,
      );
      expect(stream.status).toBe(200);
      await stream.waitForEnd();
      return stream.data;
    };

    beforeAll(async () => {
      example = await startExample(env(platform));
    }, 60_000);
    afterAll(() => example?.kill());

    it('serves its page from the platform it was asked for', async () => {
      const page = await fetch(`${example.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      // Express announces itself; Fastify does not.
      expect(page.headers.get('x-powered-by')).toBe(
        platform === 'express' ? 'Express' : null,
      );
      expect(example.output()).toContain(`(on ${platform})`);
    });

    it("runs the long job as the cookie's user, its progress streamed to the end", async () => {
      const events = await followToTheEnd(await start('long'));
      const progress = events.map((event) => event.progress as number);
      expect(progress.some((p) => p > 0 && p < 100)).toBe(true);
      const last = events.at(-1)!;
      expect(last).toMatchObject({
        status: JobStatus.Completed,
        progress: 100,
      });
      expect(last.statusText).toContain('Running as Ada.');
      expect(last.statusText).toContain('Job done.');
    });

    it('runs the import, a POST job, with its JSON body', async () => {
      const last = (await followToTheEnd(await start('import'))).at(-1)!;
      expect(last).toMatchObject({ status: JobStatus.Completed });
      expect(last.statusText).toContain('Row 3 skipped: no e-mail address.');
      expect(last.statusText).toContain('Imported 3 of 4 rows.');
    });
  });

  it('stops at start on a platform it does not know, saying which ones it knows', async () => {
    await expect(startExample(env('koa'))).rejects.toThrow(
      'PLATFORM is "koa", which the example cannot run on. Set PLATFORM=express or PLATFORM=fastify',
    );
  });
});
