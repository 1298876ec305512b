import {
  BadRequestException,
  Body,
  Catch,
  Controller,
  ForbiddenException,
  Get,
  Inject,
  Injectable,
  Module,
  Post,
  Req,
  Scope,
  UseGuards,
  UseInterceptors,
  Version,
  VERSION_NEUTRAL,
  VersioningType,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { APP_INTERCEPTOR, HttpAdapterHost, REQUEST } from '@nestjs/core';
import {
  BackgroundWorker,
  BackJobService,
  InvalidJobRequestError,
  JobStatus,
} from 'nestjs-backjob';
import { catchError, map, of, type Observable } from 'rxjs';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { ClientController, startAsClient } from './fixtures/work.controller.js';

// What real apps put around a route — a global prefix, versioning, guards,
// pipes, request-scoped providers, interceptors, exception filters — and
// what a job sees of each. Every test runs on each store and on Fastify.

/** Either platform's request, as far as these handlers read it. */
interface AppRequest {
  originalUrl?: string;
  url: string;
  headers: Record<string, string | undefined>;
  user?: { name: string };
}

const USERS: Record<string, { name: string }> = {
  'alice-token': { name: 'Alice' },
};

/** A bearer-token guard, as Passport's JWT guard is: it sets request.user. */
@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AppRequest>();
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    const user = token && USERS[token[1]];
    if (!user) throw new ForbiddenException('A valid bearer token is required');
    request.user = user;
    return true;
  }
}

/**
 * Checks a body as ValidationPipe does (class-validator is not installed):
 * a BadRequestException with one message per field.
 */
class NewUserPipe implements PipeTransform {
  transform(value: { name?: unknown; email?: unknown }) {
    const errors: string[] = [];
    if (typeof value.name !== 'string' || value.name === '')
      errors.push('name should not be empty');
    if (typeof value.email !== 'string' || !/^\S+@\S+$/.test(value.email))
      errors.push('email must be an email');
    if (errors.length > 0) throw new BadRequestException(errors);
    return value;
  }
}

/** A request-scoped service that reads the request it was made for. */
@Injectable({ scope: Scope.REQUEST })
class CallerService {
  constructor(
    @Inject(REQUEST) private readonly request: AppRequest,
    private readonly backjob: BackJobService,
  ) {}

  describe() {
    this.backjob.update(50);
    return {
      authorization: this.request.headers.authorization,
      job: this.backjob.currentJobId(),
    };
  }
}

/** A user's interceptor that wraps every answer in `{ data }`. */
@Injectable()
class DataInterceptor implements NestInterceptor {
  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data: unknown) => ({ data })));
  }
}

@Controller('reports')
class ReportsController {
  @Get('build')
  @BackgroundWorker()
  build(@Req() request: AppRequest) {
    return `built at ${request.originalUrl ?? request.url}`;
  }

  @Get('throws')
  @BackgroundWorker()
  throws() {
    throw new Error('the disk is full');
  }

  @Get('answer')
  @BackgroundWorker()
  answer() {
    return { answer: 42 };
  }

  // Decorators apply from the bottom: this interceptor runs inside
  // @BackgroundWorker()'s, so the job sees what it made of the value.
  @Get('mapped-here')
  @UseInterceptors(DataInterceptor)
  @BackgroundWorker()
  mappedHere() {
    return { answer: 42 };
  }
}

@Controller('versioned')
class VersionedController {
  @Get('report')
  @Version('1')
  @BackgroundWorker()
  reportV1() {
    return 'report v1';
  }

  @Get('report')
  @Version('2')
  @BackgroundWorker()
  reportV2() {
    return 'report v2';
  }

  @Get('report')
  @Version(VERSION_NEUTRAL)
  @BackgroundWorker()
  reportNeutral() {
    return 'report, any version';
  }
}

@Controller('secure')
class SecureController {
  @Get('me')
  @UseGuards(TokenGuard)
  @BackgroundWorker()
  me(@Req() request: AppRequest) {
    return { user: request.user?.name };
  }
}

@Controller('users')
class UsersController {
  @Post()
  @BackgroundWorker()
  create(@Body(NewUserPipe) body: { name: string }) {
    return `created ${body.name}`;
  }
}

@Controller('scoped')
class ScopedController {
  constructor(private readonly caller: CallerService) {}

  @Get('caller')
  @BackgroundWorker()
  caller_() {
    return this.caller.describe();
  }
}

/** A user's interceptor that answers errors as `{ error }` with 200. */
@Injectable()
class ErrorsAsAnswersInterceptor implements NestInterceptor {
  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next
      .handle()
      .pipe(catchError((error: Error) => of({ error: error.message })));
  }
}

/** The same interceptor, registered by a module of the app. */
@Module({
  providers: [{ provide: APP_INTERCEPTOR, useClass: DataInterceptor }],
})
class DataInterceptorModule {}
const dataInterceptorModule: DynamicModule = { module: DataInterceptorModule };

/** Answers every error with a body of its own, as apps that hide details do. */
@Catch()
class HideDetailsFilter implements ExceptionFilter {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(_exception: unknown, host: ArgumentsHost) {
    this.adapterHost.httpAdapter.reply(
      host.switchToHttp().getResponse(),
      { error: 'Something went wrong', ref: 'E42' },
      500,
    );
  }
}

describe('what real apps have around a route', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('a global prefix: routes are relative to it, and a route that repeats it is refused', async () => {
    t = await createTestApp({
      controllers: [ReportsController],
      globalPrefix: 'api',
    });
    const id = await t.backjob.start('reports/build');
    const done = await waitForJob(t.backjob, id);
    expect(done.status).toBe(JobStatus.Completed);
    expect(done.statusText).toBe('built at /api/reports/build');

    for (const route of ['api/reports/build', '/api/reports/build', 'api']) {
      const refusal = t.backjob.start(route);
      await expect(refusal).rejects.toThrow(InvalidJobRequestError);
      await expect(refusal).rejects.toThrow(/global prefix "api"/);
    }
    await expect(t.backjob.start('api/reports/build')).rejects.toThrow(
      'Give the route without the prefix: "reports/build"',
    );
  });

  it('URI versioning: the version is part of the route, after the global prefix', async () => {
    t = await createTestApp({
      controllers: [VersionedController],
      globalPrefix: 'api',
      configure: (app) => app.enableVersioning({ type: VersioningType.URI }),
    });
    const v1 = await t.backjob.start('v1/versioned/report');
    const v2 = await t.backjob.start('v2/versioned/report');
    expect((await waitForJob(t.backjob, v1)).statusText).toBe('report v1');
    expect((await waitForJob(t.backjob, v2)).statusText).toBe('report v2');

    const neutral = await t.backjob.start('versioned/report');
    expect((await waitForJob(t.backjob, neutral)).statusText).toBe(
      'report, any version',
    );
  });

  it("header versioning: a job reaches the version-neutral handler, or the version of the caller's header the app forwards", async () => {
    t = await createTestApp({
      controllers: [ClientController, VersionedController],
      backjob: { forwardHeaders: ['authorization', 'x-api-version'] },
      configure: (app) =>
        app.enableVersioning({
          type: VersioningType.HEADER,
          header: 'x-api-version',
        }),
    });
    const neutral = await t.backjob.start('versioned/report');
    expect((await waitForJob(t.backjob, neutral)).statusText).toBe(
      'report, any version',
    );
    const v2 = await startAsClient(
      t.url,
      { 'x-api-version': '2' },
      'versioned/report',
    );
    expect((await waitForJob(t.backjob, v2)).statusText).toBe('report v2');
  });

  it("media-type versioning: the same, with the caller's Accept header forwarded", async () => {
    t = await createTestApp({
      controllers: [ClientController, VersionedController],
      backjob: { forwardHeaders: ['authorization', 'accept'] },
      configure: (app) =>
        app.enableVersioning({ type: VersioningType.MEDIA_TYPE, key: 'v=' }),
    });
    const neutral = await t.backjob.start('versioned/report');
    expect((await waitForJob(t.backjob, neutral)).statusText).toBe(
      'report, any version',
    );
    const v1 = await startAsClient(
      t.url,
      { accept: 'application/json;v=1' },
      'versioned/report',
    );
    expect((await waitForJob(t.backjob, v1)).statusText).toBe('report v1');
  });

  it("an auth guard: the job runs as the caller's user, and an anonymous job gets the guard's answer", async () => {
    t = await createTestApp({
      controllers: [ClientController, SecureController],
    });
    const asAlice = { authorization: 'Bearer alice-token' };
    const id = await startAsClient(t.url, asAlice, 'secure/me');
    const done = await waitForJob(t.backjob, id);
    expect(done.status).toBe(JobStatus.Completed);
    expect(JSON.parse(done.statusText)).toEqual({ user: 'Alice' });

    const anonymous = await waitForJob(
      t.backjob,
      await startAsClient(t.url, asAlice, 'secure/me', {
        withUserCookies: false,
      }),
    );
    expect(anonymous.status).toBe(JobStatus.Failed);
    expect(anonymous.statusText).toContain('answered 403');
    expect(anonymous.statusText).toContain('A valid bearer token is required');
  });

  it("a validation pipe: the job fails with the pipe's field messages", async () => {
    t = await createTestApp({ controllers: [UsersController] });
    const id = await t.backjob.start({
      route: 'users',
      body: { name: '', email: 'nope' },
      bodyType: 'json',
    });
    const failed = await waitForJob(t.backjob, id);
    expect(failed.status).toBe(JobStatus.Failed);
    expect(failed.statusText).toContain(
      'Bad Request: name should not be empty; email must be an email',
    );

    const ok = await t.backjob.start({
      route: 'users',
      body: { name: 'Bob', email: 'bob@example.com' },
      bodyType: 'json',
    });
    expect((await waitForJob(t.backjob, ok)).statusText).toBe('created Bob');
  });

  it('a request-scoped provider: made for the worker request, inside the job', async () => {
    t = await createTestApp({
      controllers: [ClientController, ScopedController],
      providers: [CallerService],
    });
    const id = await startAsClient(
      t.url,
      { authorization: 'Bearer alice-token' },
      'scoped/caller',
    );
    const done = await waitForJob(t.backjob, id);
    expect(done.status).toBe(JobStatus.Completed);
    expect(JSON.parse(done.statusText)).toEqual({
      authorization: 'Bearer alice-token',
      job: id,
    });
  });

  it.each([
    [
      'app.useGlobalInterceptors()',
      {
        configure: (app: TestApp['app']) =>
          app.useGlobalInterceptors(new DataInterceptor()),
      },
    ],
    ['APP_INTERCEPTOR in a module', { imports: [dataInterceptorModule] }],
  ])(
    "a global interceptor that maps answers (%s): the job's output is the handler's own value",
    async (_, setup) => {
      t = await createTestApp({ controllers: [ReportsController], ...setup });
      const id = await t.backjob.start('reports/answer');
      const done = await waitForJob(t.backjob, id);
      expect(done.status).toBe(JobStatus.Completed);
      expect(JSON.parse(done.statusText)).toEqual({ answer: 42 });
    },
  );

  it('an interceptor on the handler, listed above @BackgroundWorker(): its value is the output', async () => {
    t = await createTestApp({ controllers: [ReportsController] });
    const id = await t.backjob.start('reports/mapped-here');
    const done = await waitForJob(t.backjob, id);
    expect(JSON.parse(done.statusText)).toEqual({ data: { answer: 42 } });
  });

  it('a global interceptor that turns errors into answers: the job still fails', async () => {
    t = await createTestApp({
      controllers: [ReportsController],
      configure: (app) =>
        app.useGlobalInterceptors(new ErrorsAsAnswersInterceptor()),
    });
    const failed = await waitForJob(
      t.backjob,
      await t.backjob.start('reports/throws'),
    );
    expect(failed.status).toBe(JobStatus.Failed);
    expect(failed.statusText).toContain('the disk is full');
  });

  it('an exception filter that rewrites errors: the job fails with the real reason', async () => {
    t = await createTestApp({
      controllers: [ReportsController, ClientController, SecureController],
      configure: (app) =>
        app.useGlobalFilters(new HideDetailsFilter(app.get(HttpAdapterHost))),
    });
    const thrown = await waitForJob(
      t.backjob,
      await t.backjob.start('reports/throws'),
    );
    expect(thrown.status).toBe(JobStatus.Failed);
    expect(thrown.statusText).toContain('the disk is full');

    // A guard refuses before the handler runs: the job has only the
    // filter's answer to go by.
    const refused = await waitForJob(
      t.backjob,
      await t.backjob.start('secure/me'),
    );
    expect(refused.status).toBe(JobStatus.Failed);
    expect(refused.statusText).toContain(
      'answered 500: {"error":"Something went wrong","ref":"E42"}',
    );
  });
});
