import {
  Controller,
  ForbiddenException,
  Get,
  Injectable,
  Module,
  Query,
  Req,
  Res,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
  SetMetadata,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { ApplicationConfig, Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { BackgroundWorker, BackJobService, JobStatus } from 'nestjs-backjob';
import { RecordingLogger } from './fixtures/boot.js';
import { currentTestPlatform } from './fixtures/test-platform.js';
import { gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

class RefusingGuard implements CanActivate {
  canActivate(): boolean {
    throw new ForbiddenException('not for jobs');
  }
}

/** Routes without `@BackgroundWorker()`: any route can be started as a job. */
@Controller('plain')
class PlainRoutesController {
  constructor(private readonly backjob: BackJobService) {}

  /** Reports progress, then waits at its gate, then answers an object. */
  @Get('report')
  async report(@Query('gate') gate: string) {
    this.backjob.update(40, 'halfway');
    await gates.wait(gate);
    return { rows: 3, worker: this.backjob.isWorkerRequest() };
  }

  @Get('crash')
  crash() {
    throw new Error('the disk is full');
  }

  @Get('refused')
  @UseGuards(RefusingGuard)
  refused() {
    return 'never';
  }

  @Get('stream')
  stream(@Res() reply: ServerResponse | { raw: ServerResponse }) {
    const response = 'raw' in reply ? reply.raw : reply;
    response.write('one;');
    response.write('two;');
    response.end('three');
  }

  @Get('with-result')
  withResult() {
    this.backjob.setResult({ id: 7 });
    return 'stored';
  }
}

@Controller('both')
class DirectOrJobController {
  constructor(private readonly backjob: BackJobService) {}

  @Get('export')
  @BackgroundWorker({ allowDirectCalls: true })
  export(@Query('fail') fail?: string) {
    if (fail) throw new Error('the export failed: no such table');
    return `exported, worker=${this.backjob.isWorkerRequest()}`;
  }
}

/** Lets a request through only when its handler carries `tier` metadata. */
@Injectable()
class TierGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  canActivate(context: ExecutionContext): boolean {
    return this.reflector.get('tier', context.getHandler()) === 'gold';
  }
}

class BaseExportsController {
  @Get('inherited')
  inherited() {
    return 'inherited';
  }
}

/** Marked as a whole: every route, inherited ones too; a method's own mark wins. */
@Controller('marked')
@BackgroundWorker()
class MarkedController extends BaseExportsController {
  @Get('one')
  one() {
    throw new Error('one failed: the quota is used up');
  }

  @Get('tiered')
  @BackgroundWorker({ allowDirectCalls: true })
  @UseGuards(TierGuard)
  @SetMetadata('tier', 'gold')
  tiered() {
    return 'tiered';
  }
}

/** An app's own Nest middleware: it notes which job, if any, the request runs. */
@Injectable()
class JobNoteMiddleware implements NestMiddleware {
  constructor(private readonly backjob: BackJobService) {}
  use(request: { jobSeen?: string }, _: unknown, next: () => void) {
    request.jobSeen = this.backjob.currentJobId() ?? 'none';
    next();
  }
}

@Controller('noted')
class NotedController {
  @Get()
  @BackgroundWorker({ allowDirectCalls: true })
  noted(@Req() request: { jobSeen?: string; raw?: { jobSeen?: string } }) {
    return `seen by the middleware: ${request.jobSeen ?? request.raw?.jobSeen}`;
  }
}

@Module({ controllers: [NotedController], providers: [JobNoteMiddleware] })
class NotedModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JobNoteMiddleware).forRoutes(NotedController);
  }
}

describe('any route can be started as a job', () => {
  let t: TestApp;
  // Crashes and refusals below are provoked on purpose: their logs go here.
  const logger = new RecordingLogger();
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [
        PlainRoutesController,
        DirectOrJobController,
        MarkedController,
      ],
      imports: [{ module: NotedModule }],
      logger,
    });
  });
  afterAll(() => t.close());

  it('a route without @BackgroundWorker() runs as the job: its update() applies while it runs, and its answer completes it', async () => {
    const id = await t.backjob.start(['plain/report', { gate: 'plain-1' }]);
    const running = await waitForJob(
      t.backjob,
      id,
      (s) => s.status === JobStatus.InProgress && s.progress === 40,
    );
    expect(running.statusText).toBe('halfway');
    gates.open('plain-1');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      progress: 100,
      statusText: '{"rows":3,"worker":true}',
    });
  });

  it('its crash fails the job with the answer, and says so in a warning', async () => {
    const id = await t.backjob.start('plain/crash');
    const ended = await waitForJob(t.backjob, id);
    expect(ended.status).toBe(JobStatus.Failed);
    expect(ended.statusText).toMatch(
      /The worker request to http:\/\/\S+\/plain\/crash failed: it was answered 500: .*Internal server error/,
    );
    // Warned once the ending is stored: after a read can see it.
    await expect
      .poll(() => logger.warnings.join('\n'))
      .toContain(`Job ${id} failed before its handler ended it`);
  });

  it("a guard's refusal fails the job with the refusal", async () => {
    const ended = await waitForJob(
      t.backjob,
      await t.backjob.start('plain/refused'),
    );
    expect(ended.status).toBe(JobStatus.Failed);
    expect(ended.statusText).toContain('answered 403');
    expect(ended.statusText).toContain('not for jobs');
  });

  it('what a @Res() route writes is the output, and setResult() is its result', async () => {
    expect(
      await waitForJob(t.backjob, await t.backjob.start('plain/stream')),
    ).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'one;two;three',
    });
    expect(
      await waitForJob(t.backjob, await t.backjob.start('plain/with-result')),
    ).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'stored',
      result: { id: 7 },
    });
  });

  it('@BackgroundWorker({ allowDirectCalls: true }) serves direct calls as a plain route', async () => {
    const response = await fetch(`${t.url}/both/export`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('exported, worker=false');
  });

  it("and as a job, its handler's own exception fails the job", async () => {
    expect(
      await waitForJob(t.backjob, await t.backjob.start('both/export')),
    ).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'exported, worker=true',
    });
    expect(
      await waitForJob(
        t.backjob,
        await t.backjob.start(['both/export', { fail: '1' }]),
      ),
    ).toMatchObject({
      status: JobStatus.Failed,
      statusText: 'the export failed: no such table',
    });
  });

  it('@BackgroundWorker() on a controller marks each route, inherited ones too; a method’s own mark wins', async () => {
    for (const path of ['one', 'inherited'])
      expect((await fetch(`${t.url}/marked/${path}`)).status).toBe(403);
    expect(
      await waitForJob(t.backjob, await t.backjob.start('marked/one')),
    ).toMatchObject({
      status: JobStatus.Failed,
      statusText: 'one failed: the quota is used up',
    });
    expect(
      await waitForJob(t.backjob, await t.backjob.start('marked/inherited')),
    ).toMatchObject({ status: JobStatus.Completed, statusText: 'inherited' });
    // The guard reads metadata set below the mark, on the handler Nest calls.
    const direct = await fetch(`${t.url}/marked/tiered`);
    expect(direct.status).toBe(200);
    expect(await direct.text()).toBe('tiered');
  });

  // On Fastify, Nest runs the app's middleware in @fastify/middie's hook,
  // which Nest registers before any module's: it sees the request before
  // BackJob does (as it did the interceptor before), and outside the job.
  it.runIf(currentTestPlatform() === 'express')(
    "the app's own middleware runs inside the job's context, and without one on a direct call",
    async () => {
      const id = await t.backjob.start('noted');
      expect(await waitForJob(t.backjob, id)).toMatchObject({
        status: JobStatus.Completed,
        statusText: `seen by the middleware: ${id}`,
      });
      expect(await (await fetch(`${t.url}/noted`)).text()).toBe(
        'seen by the middleware: none',
      );
    },
  );

  it('a route with its own middleware runs as a job on every platform', async () => {
    expect(
      await waitForJob(t.backjob, await t.backjob.start('noted')),
    ).toMatchObject({ status: JobStatus.Completed });
  });

  it('adds no interceptor: neither a global one nor one on marked handlers', () => {
    const config = t.app.get(ApplicationConfig);
    expect(config.getGlobalInterceptors()).toHaveLength(0);
    expect(config.getGlobalRequestInterceptors()).toHaveLength(0);
    for (const handler of [
      DirectOrJobController.prototype.export,
      MarkedController.prototype.one,
      MarkedController.prototype.tiered,
    ])
      expect(
        Reflect.getMetadata(INTERCEPTORS_METADATA, handler),
      ).toBeUndefined();
  });
});
