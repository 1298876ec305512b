import { randomUUID } from 'node:crypto';
import {
  BackJobLiveModule,
  JobStatus,
  type JobStatusSnapshot,
} from 'nestjs-backjob';
import {
  as,
  dashboardHooks,
  DashboardWorkController,
} from './fixtures/dashboard-work.controller.js';
import { gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

const CHANGE = { 'x-backjob-dashboard': '1' };

/** The sentence of an error answer. */
const messageOf = async (response: Response) =>
  ((await response.json()) as { message: string }).message;

/**
 * The dashboard's routes over HTTP, on every store and platform: what each
 * caller sees, what they may change, and a sentence (never a 500) for what
 * cannot be used.
 */
describe('BackJobLiveModule dashboard: its JSON routes', () => {
  let t: TestApp;
  const held: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [DashboardWorkController],
      imports: [
        // With the hooks from a factory: dashboard is given beside path.
        BackJobLiveModule.forRootAsync({
          path: 'live',
          dashboard: true,
          useFactory: () => dashboardHooks,
        }),
        // A dashboard with only canWatch: no totals, no changes.
        BackJobLiveModule.forRoot({
          path: 'bare',
          dashboard: true,
          canWatch: () => true,
        }),
        // No dashboard: only the routes of one job.
        BackJobLiveModule.forRoot({ path: 'plain', canWatch: () => true }),
      ],
    });
  });
  afterAll(async () => {
    for (const name of held) gates.open(name);
    await t?.close();
  });

  /** A job held at `progress` until its gate opens, once it runs. */
  async function holdJob(scope: string, progress = 30) {
    const name = `dash-${randomUUID()}`;
    held.push(name);
    const id = await t.backjob.start(
      [`dashboard-work/held/${name}`, { progress }],
      { scope, merge: false },
    );
    await waitForJob(t.backjob, id, (s) => s.progress === progress);
    return { id, name };
  }

  /** A job that ran to its end; started outside a request, so as nobody. */
  async function endedJob(
    route: string,
    scope: string,
    query: Record<string, string | number> = {},
  ) {
    const id = await t.backjob.start([route, query], { scope, merge: false });
    return waitForJob(t.backjob, id);
  }

  const get = (path: string, user?: string) =>
    fetch(`${t.url}/${path}`, { headers: user ? as(user) : {} });
  const post = (
    path: string,
    user?: string,
    headers: Record<string, string> = CHANGE,
  ) =>
    fetch(`${t.url}/${path}`, {
      method: 'POST',
      headers: { ...headers, ...(user ? as(user) : {}) },
    });
  const listed = async (path: string, user?: string) => {
    const response = await get(path, user);
    expect(response.status).toBe(200);
    return (await response.json()) as {
      jobs: (JobStatusSnapshot & { statusTextCut: number })[];
      cursor?: string;
    };
  };

  it('serves the page under its path, locked down by a Content-Security-Policy', async () => {
    const response = await get('live/dashboard');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).toContain('<title>BackJob dashboard</title>');
    // Only the page's own script, inline: nothing from another origin.
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('leaves GET <path>/:id to the job routes, with or without a dashboard', async () => {
    const job = await endedJob('dashboard-work/whoami', '');
    for (const path of ['live', 'bare', 'plain']) {
      const response = await get(`${path}/${job.id}`, 'admin');
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: job.id });
    }
    // Without dashboard: true, "dashboard" is only an id no job has.
    const none = await get('plain/dashboard');
    expect(none.status).toBe(404);
    expect(await messageOf(none)).toContain('There is no job "dashboard"');
    expect((await get('plain/dashboard/jobs')).status).toBe(404);
  });

  it('lists only the jobs canWatch() allows each caller, newest first', async () => {
    const scopes = ['alice', 'bob', 'private', ''];
    const jobs: Record<string, string> = {};
    for (const scope of scopes)
      jobs[scope] = (await endedJob('dashboard-work/whoami', scope)).id;
    const ids = (page: { jobs: { id: string }[] }) =>
      page.jobs
        .map((j) => j.id)
        .filter((id) => Object.values(jobs).includes(id));

    expect(ids(await listed('live/dashboard/jobs?limit=100', 'admin'))).toEqual(
      [...scopes].reverse().map((s) => jobs[s]),
    );
    expect(
      ids(await listed('live/dashboard/jobs?limit=100', 'viewer')),
    ).toEqual([jobs[''], jobs.bob, jobs.alice]);
    expect(ids(await listed('live/dashboard/jobs?limit=100', 'alice'))).toEqual(
      [jobs[''], jobs.alice],
    );
    // A scope filter narrows what canWatch() allows; it never widens it.
    expect(
      ids(await listed('live/dashboard/jobs?scope=private', 'alice')),
    ).toEqual([]);
    expect(ids(await listed('live/dashboard/jobs?scope=bob', 'admin'))).toEqual(
      [jobs.bob],
    );
    // scope= (empty) is the jobs started without a scope.
    const unscoped = await listed(
      'live/dashboard/jobs?scope=&limit=100',
      'admin',
    );
    expect(unscoped.jobs.every((j) => j.scope === '')).toBe(true);
    expect(ids(unscoped)).toEqual([jobs['']]);
  });

  it('sends the tail of the output, how much was cut, and no result', async () => {
    const job = await endedJob('dashboard-work/long-output', 'alice', {
      lines: 400,
    });
    expect(job.statusText.length).toBeGreaterThan(4000);
    const { jobs } = await listed('live/dashboard/jobs?scope=alice', 'alice');
    const shown = jobs.find((j) => j.id === job.id)!;
    // At most 2,048 characters, from the start of a line.
    expect(shown.statusText.length).toBeLessThanOrEqual(2048);
    expect(shown.statusText.length).toBeGreaterThan(2000);
    expect(shown.statusText).toMatch(/^line \d{5}\n/);
    expect(shown.statusText.endsWith('line 00400\nthe end')).toBe(true);
    expect(shown.statusTextCut).toBe(
      job.statusText.length - shown.statusText.length,
    );
    expect(job.statusText.endsWith(shown.statusText)).toBe(true);
    expect(shown).not.toHaveProperty('result');
    expect(shown).toMatchObject({
      status: JobStatus.Completed,
      progress: 100,
      scope: 'alice',
      retryOf: null,
    });
  });

  it('filters by one status or several, by number or name', async () => {
    const running = await holdJob('carol');
    const failed = await endedJob('dashboard-work/fails', 'carol');
    const done = await endedJob('dashboard-work/whoami', 'carol');
    const page = (status: string) =>
      listed(`live/dashboard/jobs?scope=carol&status=${status}`, 'carol').then(
        (p) => p.jobs.map((j) => j.id),
      );
    expect(await page('1')).toEqual([running.id]);
    expect(await page('inprogress')).toEqual([running.id]);
    expect(await page('3')).toEqual([failed.id]);
    expect(await page('2,failed')).toEqual([done.id, failed.id]);
    expect(await page('0,1')).toEqual([running.id]);
    const failedRow = (
      await listed('live/dashboard/jobs?scope=carol&status=3', 'carol')
    ).jobs[0];
    expect(failedRow.statusText).toContain('The file has no header row.');
  });

  it('pages with the cursor, and a page may hold fewer jobs than asked when canWatch() hides some', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 3; i++)
      mine.push((await endedJob('dashboard-work/whoami', 'pager')).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listed(
        `live/dashboard/jobs?scope=pager&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        'admin',
      );
      expect(page.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([...mine].reverse());

    // Ten jobs the viewer may not watch: each request reads a bounded
    // number of store pages, answers with none, and lets the cursor go on.
    for (let i = 0; i < 10; i++)
      await endedJob('dashboard-work/whoami', 'private');
    const hidden = await listed(
      'live/dashboard/jobs?scope=private&limit=1',
      'viewer',
    );
    expect(hidden.jobs).toEqual([]);
    expect(hidden.cursor).toEqual(expect.any(String));
    const next = await listed(
      `live/dashboard/jobs?scope=private&limit=1&cursor=${hidden.cursor}`,
      'viewer',
    );
    expect(next.jobs).toEqual([]);
  });

  it('answers bad filters with 400 and a sentence, never a 500', async () => {
    const cases: [string, RegExp][] = [
      ['status=9', /"9" is not a job status/],
      ['status=done', /"done" is not a job status/],
      ['status=1&status=2', /status parameter was given more than once/],
      ['scope=a&scope=b', /scope parameter was given more than once/],
      ['cursor=not-a-cursor', /cursor it did not make/],
      [
        `cursor=${Buffer.from('[1,2]').toString('base64url')}`,
        /cursor it did not make/,
      ],
      ['limit=0', /limit 0: give a whole number from 1 to 100/],
      ['limit=500', /limit 500/],
      ['limit=ten', /limit 'ten'/],
      [
        'status[]=3',
        /does not know the parameter "status\[\]"\. It reads status, scope, cursor, limit, each given once as name=value \(no brackets\)/,
      ],
      ['scope[$ne]=x&page=2', /parameters "scope\[\$ne\]", "page"/],
      [`status=${'x'.repeat(10_000)}`, /"x{100}…" is not a job status/],
    ];
    for (const [query, message] of cases) {
      const response = await get(`live/dashboard/jobs?${query}`, 'admin');
      expect({ query, status: response.status }).toEqual({
        query,
        status: 400,
      });
      expect(await messageOf(response)).toMatch(message);
    }
    const counts = await get('live/dashboard/counts?scope=a&scope=b', 'admin');
    expect(counts.status).toBe(400);
    const bracketed = await get('live/dashboard/counts?scope[]=a', 'admin');
    expect(bracketed.status).toBe(400);
    expect(await messageOf(bracketed)).toMatch(
      /does not know the parameter "scope\[\]"\. It reads scope/,
    );
  });

  it('gives totals per status only to whom canCount() allows', async () => {
    await endedJob('dashboard-work/fails', 'dave');
    const response = await get('live/dashboard/counts?scope=dave', 'dave');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      [JobStatus.Started]: 0,
      [JobStatus.InProgress]: 0,
      [JobStatus.Completed]: 0,
      [JobStatus.Failed]: 1,
      [JobStatus.Cancelled]: 0,
    });
    const all = await get('live/dashboard/counts', 'admin');
    expect(all.status).toBe(200);
    expect(
      ((await all.json()) as Record<number, number>)[JobStatus.Failed],
    ).toBeGreaterThanOrEqual(1);

    const refused = await get('live/dashboard/counts', 'dave');
    expect(refused.status).toBe(403);
    expect(await messageOf(refused)).toMatch(
      /may not see the totals of every scope: canCount\(\) .* refused/,
    );
    const other = await get('live/dashboard/counts?scope=alice', 'dave');
    expect(await messageOf(other)).toContain('scope "alice"');
    const bare = await get('bare/dashboard/counts', 'admin');
    expect(bare.status).toBe(403);
    expect(await messageOf(bare)).toMatch(
      /has no canCount\(scope, request\) hook/,
    );
  });

  it('cancels a running job for whom canManage() allows, and refuses everyone else with a sentence', async () => {
    const job = await holdJob('erin');
    const refusals: [
      string,
      string | undefined,
      Record<string, string>,
      number,
      RegExp,
    ][] = [
      ['live', 'admin', {}, 403, /must carry the x-backjob-dashboard header/],
      ['live', 'viewer', CHANGE, 403, /may not cancel this job: canManage\(\)/],
      ['live', 'frank', CHANGE, 403, /may not watch this job: canWatch\(\)/],
      ['live', undefined, CHANGE, 403, /may not watch this job/],
      [
        'bare',
        'admin',
        CHANGE,
        403,
        /has no canManage\(job, request, action\) hook/,
      ],
    ];
    for (const [path, user, headers, status, message] of refusals) {
      const response = await post(
        `${path}/dashboard/jobs/${job.id}/cancel`,
        user,
        headers,
      );
      expect({ path, user, status: response.status }).toEqual({
        path,
        user,
        status,
      });
      expect(await messageOf(response)).toMatch(message);
    }
    expect((await t.backjob.getStatus(job.id))?.status).toBe(
      JobStatus.InProgress,
    );

    // The job's own user may cancel it (the rule's 'cancel' action).
    const cancelled = await post(
      `live/dashboard/jobs/${job.id}/cancel`,
      'erin',
    );
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toEqual({ cancelled: true });
    expect(await t.backjob.getStatus(job.id)).toMatchObject({
      status: JobStatus.Cancelled,
      statusText: expect.stringContaining('from the dashboard'),
    });
    const again = await post(`live/dashboard/jobs/${job.id}/cancel`, 'admin');
    expect(again.status).toBe(409);
    expect(await messageOf(again)).toMatch(
      /had already ended, so there was nothing to cancel/,
    );
  });

  it('runs an ended job again as the caller of the dashboard, linked to the first', async () => {
    // Started without a cookie: the first run was nobody's.
    const first = await endedJob('dashboard-work/whoami', 'gina');
    expect(first.statusText).toBe('ran as nobody');
    const refused = await post(`live/dashboard/jobs/${first.id}/retry`, 'gina');
    expect(refused.status).toBe(403);
    expect(await messageOf(refused)).toMatch(/may not run this job again/);

    const response = await post(
      `live/dashboard/jobs/${first.id}/retry`,
      'admin',
    );
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    expect(id).not.toBe(first.id);
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'ran as admin',
      scope: 'gina',
      retryOf: first.id,
    });
    const { jobs } = await listed('live/dashboard/jobs?scope=gina', 'admin');
    expect(jobs.map((j) => [j.id, j.retryOf])).toEqual([
      [id, first.id],
      [first.id, null],
    ]);
  });

  it('answers 409 for running a pending job again and 404 for an unknown job, never a 500', async () => {
    const job = await holdJob('hank');
    const pending = await post(`live/dashboard/jobs/${job.id}/retry`, 'admin');
    expect(pending.status).toBe(409);
    const why = await messageOf(pending);
    expect(why).toMatch(new RegExp(`^Job ${job.id} is still `));
    expect(why).toContain('only a job that ended can run again');
    for (const id of [randomUUID(), 'not-a-job', '%20']) {
      for (const action of ['cancel', 'retry']) {
        const response = await post(
          `live/dashboard/jobs/${id}/${action}`,
          'admin',
        );
        expect({ id, action, status: response.status }).toEqual({
          id,
          action,
          status: 404,
        });
        expect(await messageOf(response)).toMatch(/^There is no job/);
      }
    }
    gates.open(job.name);
    await waitForJob(t.backjob, job.id);
  });
});

describe('BackJobLiveModule dashboard: its options', () => {
  it('refuses a dashboard option that is not a boolean, and hooks that are not functions, saying so', () => {
    expect(() =>
      BackJobLiveModule.forRoot({
        path: 'live',
        dashboard: 'yes' as never,
        canWatch: () => true,
      }),
    ).toThrow(
      "BackJobLiveModule's dashboard option must be true or false, not 'yes'.",
    );
    expect(() =>
      BackJobLiveModule.forRootAsync({
        path: 'live',
        dashboard: 1 as never,
        useFactory: () => ({ canWatch: () => true }),
      }),
    ).toThrow(/dashboard option must be true or false, not 1/);
    for (const hook of ['canManage', 'canCount'])
      expect(() =>
        BackJobLiveModule.forRoot({
          path: 'live',
          dashboard: true,
          canWatch: () => true,
          [hook]: true,
        }),
      ).toThrow(
        `BackJobLiveModule's ${hook} must be a function, not boolean. Pass a function, or leave it out.`,
      );
  });
});
