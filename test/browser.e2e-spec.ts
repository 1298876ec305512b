import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startExampleApp, type ExampleApp } from './fixtures/example-app.js';

/** Debian's package (`apt-get install chromium`): test tools cannot download a browser here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];
const ARTIFACTS = new URL('./.artifacts/', import.meta.url);
const MISSING = `The browser test needs Chromium at ${CHROMIUM}. Install it with \`sudo apt-get install -y chromium\` (Debian, Ubuntu), or set CHROMIUM_PATH to a Chromium or Chrome executable.`;

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

const hasChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
// The example runs on a SQLite file of its own: the other store projects
// would only run the same test again.
const otherStore = (process.env.BACKJOB_TEST_STORE ?? 'sqlite') !== 'sqlite';
if (!hasChromium && !otherStore) {
  // Under CI the browser test must run: a missing Chromium fails the file.
  if (inCi) throw new Error(MISSING);
  console.warn(`Skipping the browser test. ${MISSING}`);
}

describe.runIf(hasChromium && !otherStore)(
  "the example's progress page in headless Chromium",
  () => {
    let example: ExampleApp;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      example = await startExampleApp();
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: CHROMIUM_FLAGS,
      });
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
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({
        path: new URL('progress-page-running.png', ARTIFACTS).pathname,
      });
      const long = await endedCard('long');
      expect(await long.getAttribute('data-state')).toBe('completed');
      expect(await long.getAttribute('data-transport')).toBe('sse');
      expect(await long.locator('progress').evaluate((p) => p.value)).toBe(100);
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

      await page.screenshot({
        path: new URL('progress-page.png', ARTIFACTS).pathname,
        fullPage: true,
      });
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
      await page.screenshot({
        path: new URL('cancelled-job.png', ARTIFACTS).pathname,
        fullPage: true,
      });
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
