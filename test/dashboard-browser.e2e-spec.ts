import { randomUUID } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BackJobLiveModule, JobStatus } from 'nestjs-backjob';
import {
  backgroundOf,
  BAR_COLOURS,
  browserTestsRun,
  launchChromium,
  screenshot,
} from './fixtures/browser.js';
import {
  dashboardHooks,
  DashboardWorkController,
} from './fixtures/dashboard-work.controller.js';
import { gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { TEST_PLATFORMS } from './fixtures/test-platform.js';

/** The page refreshes every second: give a change a few of them to show. */
const POLL = { timeout: 10_000 };

/**
 * The dashboard's page in headless Chromium, on Express and on Fastify,
 * under a global prefix: it lists jobs live, filters them, cancels and
 * runs again, and shows a refusal of canManage() as a sentence.
 */
describe.runIf(browserTestsRun()).each(TEST_PLATFORMS)(
  'the dashboard in headless Chromium, on %s',
  (platform) => {
    let t: TestApp;
    let browser: Browser;
    let dashboard: string;
    const held: string[] = [];
    const contexts: BrowserContext[] = [];
    const pageErrors: string[] = [];

    beforeAll(async () => {
      t = await createTestApp({
        platform,
        globalPrefix: 'api',
        controllers: [DashboardWorkController],
        imports: [
          BackJobLiveModule.forRoot({
            path: 'jobs',
            dashboard: true,
            ...dashboardHooks,
          }),
        ],
      });
      dashboard = `${t.url}/api/jobs/dashboard`;
      browser = await launchChromium();
    });
    afterAll(async () => {
      for (const name of held) gates.open(name);
      await browser?.close();
      await t?.close();
    });
    afterEach(async () => {
      for (const context of contexts.splice(0)) await context.close();
      expect(pageErrors.splice(0)).toEqual([]);
    });

    /** The dashboard as `user` (their cookie), with script errors and CSP refusals recorded. */
    async function openAs(user: string): Promise<Page> {
      const context = await browser.newContext();
      contexts.push(context);
      await context.addCookies([{ name: 'user', value: user, url: t.url }]);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text()))
          pageErrors.push(message.text());
      });
      await page.goto(dashboard);
      return page;
    }

    async function holdJob(scope: string, progress: number) {
      const name = `browser-${randomUUID()}`;
      held.push(name);
      const id = await t.backjob.start(
        [`dashboard-work/held/${name}`, { progress }],
        { scope, merge: false },
      );
      await waitForJob(t.backjob, id, (s) => s.progress === progress);
      return { id, name };
    }

    async function endedJob(
      route: string,
      scope: string,
      query: Record<string, number> = {},
    ) {
      const id = await t.backjob.start([route, query], { scope, merge: false });
      await waitForJob(t.backjob, id);
      return id;
    }

    const row = (page: Page, id: string) =>
      page.locator(`tr.job[data-job="${id}"]`);
    const rowIn = (page: Page, id: string, state: string) =>
      row(page, id).and(page.locator(`[data-state="${state}"]`));
    const shownIds = (page: Page) =>
      page
        .locator('#jobs tr.job')
        .evaluateAll((rows) => rows.map((r) => r.dataset.job));

    it('lists jobs live, filters them, cancels one and runs one again', async () => {
      const failed = await endedJob('dashboard-work/fails', 'bob');
      const long = await endedJob('dashboard-work/long-output', 'alice', {
        lines: 300,
      });
      const waiting = await t.backjob.start(['dashboard-work/whoami'], {
        scope: 'carol',
        delay: 600,
      });
      const toCancel = await holdJob('alice', 55);
      const running = await holdJob('alice', 30);

      const page = await openAs('admin');
      await rowIn(page, running.id, 'running').waitFor();
      expect(await shownIds(page)).toEqual([
        waiting,
        running.id,
        toCancel.id,
        long,
        failed,
      ]);
      const runningRow = row(page, running.id);
      expect(await runningRow.locator('td.scope').textContent()).toBe('alice');
      expect(await runningRow.locator('.percent').textContent()).toBe('30%');
      expect(
        await runningRow.locator('.bar').getAttribute('aria-valuenow'),
      ).toBe('30');
      expect(await runningRow.locator('pre.output').textContent()).toContain(
        'Working on',
      );
      expect(await runningRow.locator('td.eta').textContent()).toMatch(
        /^(unknown|\d+ s|\d+ min \d+ s)$/,
      );
      expect(await runningRow.locator('td.started').textContent()).not.toBe('');
      expect(await runningRow.locator('.retry').isHidden()).toBe(true);
      expect(
        await row(page, waiting).locator('td.started').textContent(),
      ).toMatch(/^starts /);
      // The output's tail, saying how much came before it.
      const longRow = row(page, long);
      expect(await longRow.locator('pre.output').textContent()).toMatch(
        /line 00300\nthe end$/,
      );
      expect(await longRow.locator('.cut').textContent()).toMatch(
        /^… [\d,]+ earlier characters not shown$/,
      );
      expect(await backgroundOf(row(page, failed).locator('.fill'))).toBe(
        BAR_COLOURS.failed,
      );
      // The admin may see every total.
      await expect
        .poll(() => page.getAttribute('#counts', 'data-source'), POLL)
        .toBe('totals');
      expect(await page.textContent('#counts [data-status="1"] .n')).toBe('2');

      // Cancel, from the row of a running job.
      await row(page, toCancel.id).locator('.cancel').click();
      await rowIn(page, toCancel.id, 'cancelled').waitFor();
      expect(await page.textContent('#message')).toBe(
        `Cancelled job ${toCancel.id}.`,
      );
      expect(await backgroundOf(row(page, toCancel.id).locator('.fill'))).toBe(
        BAR_COLOURS.cancelled,
      );
      expect(await t.backjob.getStatus(toCancel.id)).toMatchObject({
        status: JobStatus.Cancelled,
      });
      if (platform === 'express')
        await screenshot(page, 'dashboard', { docs: true });

      // Live: a job started and a job ending after the page loaded.
      const later = await endedJob('dashboard-work/whoami', 'dave');
      await rowIn(page, later, 'completed').waitFor();
      // Newest first by start time: the delayed job starts in ten minutes.
      expect((await shownIds(page)).slice(0, 2)).toEqual([waiting, later]);
      gates.open(running.name);
      await rowIn(page, running.id, 'completed').waitFor();
      expect(
        await row(page, running.id).locator('.percent').textContent(),
      ).toBe('100%');

      // Filters: by status (kept in the address), then by scope.
      await page.selectOption('#status-filter', '3');
      await expect.poll(() => shownIds(page), POLL).toEqual([failed]);
      expect(page.url()).toMatch(/\?status=3$/);
      expect(
        await page.getAttribute('#counts [data-status="3"]', 'aria-pressed'),
      ).toBe('true');
      await page.reload();
      await expect.poll(() => shownIds(page), POLL).toEqual([failed]);
      await page.selectOption('#status-filter', '');
      await page.fill('#scope-filter', 'alice');
      await expect
        .poll(() => shownIds(page), POLL)
        .toEqual([running.id, toCancel.id, long]);
      await page.fill('#scope-filter', '');
      await expect
        .poll(async () => (await shownIds(page)).length, POLL)
        .toBe(6);

      // Run again, from the row of an ended job: a new job, linked to it.
      await row(page, failed).locator('.retry').click();
      await expect
        .poll(() => page.textContent('#message'), POLL)
        .toMatch(
          new RegExp(`^Job ${failed} runs again as job [0-9a-f-]{36}\\.$`),
        );
      const again = /as job ([0-9a-f-]{36})/.exec(
        (await page.textContent('#message'))!,
      )![1];
      await rowIn(page, again, 'failed').waitFor();
      expect(await row(page, again).locator('.retry-of').textContent()).toBe(
        `run again of ${failed}`,
      );
      expect(await row(page, again).locator('td.scope').textContent()).toBe(
        'bob',
      );

      // A delayed job cancelled while it waited never started.
      await t.backjob.cancel(waiting);
      await rowIn(page, waiting, 'cancelled').waitFor();
      expect(await row(page, waiting).locator('td.started').textContent()).toBe(
        'never started',
      );
      expect(
        await row(page, waiting).locator('td.ended').textContent(),
      ).not.toMatch(/\(/);
    });

    it("shows canManage()'s refusal as a sentence, hides what canWatch() refuses, and counts only what it lists", async () => {
      const hidden = await endedJob('dashboard-work/whoami', 'private');
      const job = await holdJob('erin', 40);
      const page = await openAs('viewer');
      await rowIn(page, job.id, 'running').waitFor();
      expect(await row(page, hidden).count()).toBe(0);

      await row(page, job.id).locator('.cancel').click();
      await expect
        .poll(() => page.getAttribute('#message', 'data-kind'), POLL)
        .toBe('error');
      expect(await page.textContent('#message')).toBe(
        `Could not cancel job ${job.id}: 403: You may not cancel this job: canManage() of BackJobLiveModule refused it.`,
      );
      expect((await t.backjob.getStatus(job.id))?.status).toBe(
        JobStatus.InProgress,
      );
      // The refusal stays until the next action: the live refresh does not
      // wipe it.
      const reads = Number(await page.getAttribute('body', 'data-reads'));
      await expect
        .poll(
          async () => Number(await page.getAttribute('body', 'data-reads')),
          POLL,
        )
        .toBeGreaterThan(reads + 1);
      expect(await page.getAttribute('#message', 'data-kind')).toBe('error');

      // No totals for the viewer (canCount): the counts are of the rows.
      expect(await page.getAttribute('#counts', 'data-source')).toBe('listed');
      expect(await page.textContent('#counts-note')).toBe('of the jobs listed');
      const rows = await page.locator('#jobs tr.job[data-status="1"]').count();
      expect(await page.textContent('#counts [data-status="1"] .n')).toBe(
        String(rows),
      );
      if (platform === 'express') await screenshot(page, 'dashboard-refusal');
      gates.open(job.name);
      await rowIn(page, job.id, 'completed').waitFor();
    });
  },
);
