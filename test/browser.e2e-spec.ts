import type { Browser, Page } from 'playwright-core';
import {
  backgroundOf,
  BAR_COLOURS,
  browserTestsRun,
  launchChromium,
  screenshot,
} from './fixtures/browser.js';
import { startExampleApp, type ExampleApp } from './fixtures/example-app.js';

/**
 * The few browser names the in-page functions use: the tests are compiled
 * without the DOM library, which would hide mistakes about Node's globals.
 */
interface Shown {
  percent: string;
  eta: string;
}
interface InPageElement {
  textContent: string | null;
  querySelector(selector: string): InPageElement | null;
}
interface InPage {
  document: InPageElement & { getElementById(id: string): unknown };
  MutationObserver: new (callback: () => void) => {
    observe(target: unknown, options: Record<string, boolean>): void;
  };
  seen: Shown[];
  halfWay: Promise<void>;
}

describe.runIf(browserTestsRun())(
  "the example's progress page in headless Chromium",
  () => {
    let example: ExampleApp;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      example = await startExampleApp();
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await example?.close();
    });
    beforeEach(async () => {
      pageErrors.length = 0;
      page = await browser.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
    });
    afterEach(async () => {
      await page.close();
      expect(pageErrors).toEqual([]);
    });

    /** The newest card of a kind of job, once its job has ended. */
    async function endedCard(kind: string) {
      const card = page.locator(`.job[data-kind="${kind}"]`).first();
      await card
        .and(
          page.locator(
            '[data-status="2"], [data-status="3"], [data-status="4"]',
          ),
        )
        .waitFor({ timeout: 20_000 });
      return card;
    }

    /**
     * What the card of the long job showed at each change of the page (its
     * steps last only a moment), and a promise of its half-way point.
     */
    async function recordLongJob() {
      await page.evaluate(() => {
        const inPage = globalThis as unknown as InPage;
        const seen: Shown[] = (inPage.seen = []);
        let reachHalfWay = () => {};
        inPage.halfWay = new Promise<void>((resolve) => {
          reachHalfWay = resolve;
        });
        new inPage.MutationObserver(() => {
          const card = inPage.document.querySelector('.job[data-kind="long"]');
          const percent = card?.querySelector('.percent')?.textContent ?? '';
          const eta = card?.querySelector('.eta')?.textContent ?? '';
          if (percent && percent !== seen[seen.length - 1]?.percent)
            seen.push({ percent, eta });
          if (/^[4-8]0%$/.test(percent)) reachHalfWay();
        }).observe(inPage.document.getElementById('jobs'), {
          subtree: true,
          childList: true,
          characterData: true,
        });
      });
      return {
        halfWay: () =>
          page.evaluate(() => (globalThis as unknown as InPage).halfWay),
        seen: () => page.evaluate(() => (globalThis as unknown as InPage).seen),
      };
    }

    it('runs a job as the user with a live bar and output, and one that fails', async () => {
      await page.goto(example.url);
      await page.fill('#user-name', 'alice');
      await page.click('#sign-in');
      await expect
        .poll(() => page.textContent('#current-user'))
        .toContain('alice');

      const recorder = await recordLongJob();
      await page.click('#start-long');
      await recorder.halfWay();
      await screenshot(page, 'progress-page-running');
      const long = await endedCard('long');
      expect(await long.getAttribute('data-state')).toBe('completed');
      expect(await long.getAttribute('data-transport')).toBe('sse');
      expect(await long.locator('.track').getAttribute('aria-valuenow')).toBe(
        '100',
      );
      expect(await long.locator('.percent').textContent()).toBe('100%');
      const output = await long.locator('.output').textContent();
      expect(output).toContain('Running as alice.');
      expect(output).toContain('Job done.');
      expect(await long.locator('.elapsed').textContent()).toMatch(
        /^elapsed \d+\.\d s$/,
      );
      // Every step was pushed to the page as it happened, with an estimate
      // of the time left while it ran.
      const shown = await recorder.seen();
      const steps = ['20%', '40%', '60%', '80%', '100%'];
      expect(
        shown.map((s) => s.percent).filter((p) => steps.includes(p)),
      ).toEqual(steps);
      for (const { eta } of shown.filter((s) => /^[4-8]0%$/.test(s.percent)))
        expect(eta).toMatch(/^ETA \d+\.\d s$/);

      await page.click('#start-broken');
      const broken = await endedCard('broken');
      expect(await broken.getAttribute('data-state')).toBe('failed');
      expect(await broken.locator('.state').textContent()).toBe('failed');
      expect(await broken.locator('.percent').textContent()).toBe('30%');
      expect(await broken.locator('.output').textContent()).toContain(
        'Import failed: row 17 has no e-mail address.',
      );

      await page.click('#start-anonymous');
      const anonymous = await endedCard('anonymous');
      expect(await anonymous.getAttribute('data-state')).toBe('completed');
      expect(await anonymous.locator('.output').textContent()).toContain(
        'Running anonymously: no user.',
      );

      await page.click('#start-import');
      const imported = await endedCard('import');
      expect(await imported.locator('.output').textContent()).toContain(
        'Imported 3 of 4 rows.',
      );

      await page.click('#start-delayed');
      const delayed = page.locator('.job[data-kind="delayed"]').first();
      await expect
        .poll(() => delayed.locator('.state').textContent())
        .toMatch(/^waiting, starts in \d+\.\d s$/);
      expect(
        await (await endedCard('delayed')).getAttribute('data-state'),
      ).toBe('completed');

      await page.click('#cleanup');
      await expect
        .poll(() => page.textContent('#cleanup-result'))
        .toMatch(/^Deleted \d+ old job\(s\)\.$/);

      await screenshot(page, 'progress-page', { fullPage: true });
    });

    it('cancels a running job from its card, which then shows it cancelled, in grey', async () => {
      await page.goto(example.url);
      await page.click('#start-long');
      const long = page.locator('.job[data-kind="long"]').first();
      await long.and(page.locator('[data-status="1"]')).waitFor();
      await long.locator('.cancel').click();
      const ended = await endedCard('long');
      expect(await ended.getAttribute('data-state')).toBe('cancelled');
      expect(await ended.locator('.output').textContent()).toContain(
        'cancelled: from the page',
      );
      expect(await ended.locator('.cancel').isHidden()).toBe(true);
      expect(await ended.locator('.retry').isVisible()).toBe(true);
      expect(await backgroundOf(ended.locator('.fill'))).toBe(
        BAR_COLOURS.cancelled,
      );
      await screenshot(page, 'cancelled-job', { fullPage: true });

      // list() still has it after a reload, cancelled and grey.
      const id = (await ended.getAttribute('data-job'))!;
      await page.reload();
      const listed = page.locator(`.job[data-job="${id}"]`);
      await listed.and(page.locator('[data-state="cancelled"]')).waitFor();
      expect(await backgroundOf(listed.locator('.fill'))).toBe(
        BAR_COLOURS.cancelled,
      );
    });

    it('lists my jobs again after a reload, with id and start time, red when failed, and runs an ended one again', async () => {
      await page.goto(example.url);
      await page.fill('#user-name', 'grace');
      await page.click('#sign-in');
      await page.click('#start-long');
      const long = await endedCard('long');
      const longId = (await long.getAttribute('data-job'))!;
      await page.click('#start-broken');
      const broken = await endedCard('broken');
      const brokenId = (await broken.getAttribute('data-job'))!;
      expect(await backgroundOf(broken.locator('.fill'))).toBe(
        BAR_COLOURS.failed,
      );

      await page.reload();
      // Only list() knows them now: newest first, each with its id and
      // start time, the failed one red.
      const cards = page.locator('#jobs .job');
      await expect
        .poll(() => cards.evaluateAll((all) => all.map((c) => c.dataset.job)))
        .toEqual([brokenId, longId]);
      const listedLong = cards.nth(1);
      await listedLong.and(page.locator('[data-state="completed"]')).waitFor();
      expect(await listedLong.locator('.id').textContent()).toBe(longId);
      expect(await listedLong.locator('.started').textContent()).toMatch(
        /^started \S/,
      );
      expect(await listedLong.locator('.output').textContent()).toContain(
        'Running as grace.',
      );
      expect(await listedLong.locator('.cancel').isHidden()).toBe(true);
      const listedBroken = cards.nth(0);
      expect(await listedBroken.getAttribute('data-state')).toBe('failed');
      expect(await backgroundOf(listedBroken.locator('.fill'))).toBe(
        BAR_COLOURS.failed,
      );

      // Run again: a new card for a new job, linked to the first, which runs
      // as grace again (her cookie, from this request) to its end.
      await listedLong.locator('.retry').click();
      const again = page.locator('#jobs .job').first();
      await expect
        .poll(() => again.getAttribute('data-job'))
        .not.toBe(brokenId);
      await again
        .and(page.locator('[data-state="completed"]'))
        .waitFor({ timeout: 20_000 });
      const againId = (await again.getAttribute('data-job'))!;
      expect(againId).not.toBe(longId);
      expect(await again.locator('.retry-of').textContent()).toBe(
        ` · run again of ${longId}`,
      );
      expect(await again.locator('.output').textContent()).toContain(
        'Running as grace.',
      );
      await screenshot(page, 'example', { fullPage: true, docs: true });

      // Another user sees none of them.
      await page.fill('#user-name', 'linus');
      await page.click('#sign-in');
      await expect.poll(() => page.locator('#jobs .job').count()).toBe(0);
    });

    it('links to the dashboard, which lists the jobs of the user', async () => {
      await page.goto(example.url);
      await page.fill('#user-name', 'ada');
      await page.click('#sign-in');
      await page.click('#start-long');
      const id = (await (await endedCard('long')).getAttribute('data-job'))!;
      await page.click('#dashboard-link');
      await page.waitForURL(/\/jobs\/dashboard$/);
      const row = page.locator(`tr.job[data-job="${id}"]`);
      await row.and(page.locator('[data-state="completed"]')).waitFor();
      expect(await row.locator('td.scope').textContent()).toBe('ada');
      // Her totals: canCount allows her own scope only.
      await page.fill('#scope-filter', 'ada');
      await expect
        .poll(() => page.getAttribute('#counts', 'data-source'))
        .toBe('totals');
      expect(await page.textContent('#counts button[data-status="2"] .n')).toBe(
        '1',
      );
    });

    it('falls back to polling and still shows the job to its end', async () => {
      await page.goto(`${example.url}/?transport=poll`);
      await page.click('#start-long');
      const long = await endedCard('long');
      expect(await long.getAttribute('data-transport')).toBe('poll');
      expect(await long.getAttribute('data-state')).toBe('completed');
      expect(await long.locator('.percent').textContent()).toBe('100%');
      expect(await long.locator('.output').textContent()).toContain(
        'Job done.',
      );
    });
  },
);
