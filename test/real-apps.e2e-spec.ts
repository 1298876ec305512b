import {
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
  Res,
  Scope,
  UnauthorizedException,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
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
} from '@nestjs/common';
import { APP_INTERCEPTOR, HttpAdapterHost, REQUEST } from '@nestjs/core';
import {
  BackgroundWorker,
  BackJobService,
  InvalidJobRequestError,
  JobStatus,
} from 'nestjs-backjob';
import { IsEmail, IsNotEmpty } from 'class-validator';
import compression from 'compression';
import type { Response } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { catchError, map, of, type Observable } from 'rxjs';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { currentTestPlatform } from './fixtures/test-platform.js';
import { ClientController, startAsClient } from './fixtures/work.controller.js';

// What real apps put around a route — a global prefix, versioning, guards
// (a bearer token, an express-session login), class-validator's
// ValidationPipe, request-scoped providers, interceptors, exception filters,
// compression and helmet — and what a job sees of each. Every test runs on
// each store; all but the Express middleware at the end on Fastify too.

/** Either platform's request, as far as these handlers read it. */
interface AppRequest {
  originalUrl?: string;
  url: string;
  headers: Record<string, string | undefined>;
  user?: { name: string };
  /** express-session's, on the Express apps that use it. */
  session?: { user?: string };
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

/** A body checked by class-validator, through Nest's ValidationPipe. */
class NewUserDto {
  @IsNotEmpty()
  name!: string;

  @IsEmail()
  email!: string;
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

  // An interceptor on the handler itself maps the answer, not the job.
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
  create(@Body() body: NewUserDto) {
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

/** A guard on express-session's session, as a login with sessions has. */
@Injectable()
class SessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AppRequest>();
    if (!request.session?.user)
      throw new UnauthorizedException(
        'Log in first: this session has no user.',
      );
    return true;
  }
}

@Controller('session')
class SessionController {
  /** Logs the body's user in: their name goes into the session. */
  @Post('login')
  login(@Req() request: AppRequest, @Body() body: { user: string }) {
    request.session!.user = body.user;
    return { user: body.user };
  }

  @Get('report')
  @UseGuards(SessionGuard)
  @BackgroundWorker()
  report(@Req() request: AppRequest) {
    return `report for ${request.session!.user}`;
  }
}

/** A report long enough for compression (its threshold is 1 KiB). */
const LONG_REPORT = Array.from(
  { length: 200 },
  (_, i) => `line ${i}: all is well`,
).join('\n');

@Controller('compressed')
class CompressedController {
  @Get('plain')
  plain() {
    return LONG_REPORT;
  }

  @Get('returned')
  @BackgroundWorker()
  returned() {
    return LONG_REPORT;
  }

  // Written in pieces to the response, as a CSV export streams its rows.
  @Get('written')
  @BackgroundWorker()
  written(@Res() response: Response) {
    response.setHeader('content-type', 'text/plain');
    for (const line of LONG_REPORT.split('\n')) response.write(`${line}\n`);
    response.end('end of report');
  }

  // A refusal long enough to be compressed, before the handler runs.
  @Get('refused')
  @UseGuards({
    canActivate: () => {
      throw new ForbiddenException(`Not today. ${LONG_REPORT}`);
    },
  })
  @BackgroundWorker()
  refused() {
    return 'never';
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

  it('a global ValidationPipe (class-validator): the job fails with the field messages in its statusText', async () => {
    t = await createTestApp({
      controllers: [UsersController],
      configure: (app) => app.useGlobalPipes(new ValidationPipe()),
    });
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

  it("an interceptor on the handler itself maps the answer: the job's output is still the handler's own value", async () => {
    t = await createTestApp({ controllers: [ReportsController] });
    const id = await t.backjob.start('reports/mapped-here');
    const done = await waitForJob(t.backjob, id);
    expect(JSON.parse(done.statusText)).toEqual({ answer: 42 });
    const direct = await fetch(`${t.url}/reports/mapped-here`);
    expect(direct.status).toBe(403);
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

/** The cookie express-session set on a login as `user`. */
async function logIn(url: string, user: string): Promise<string> {
  const response = await fetch(`${url}/session/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  expect(response.status).toBe(201);
  const cookie = response.headers.getSetCookie()[0] ?? '';
  expect(cookie).toMatch(/^connect\.sid=/);
  return cookie.split(';')[0];
}

// Express middleware, as Express apps install it (app.use). Fastify apps
// use Fastify's own plugins instead (@fastify/session, @fastify/compress,
// @fastify/helmet), so these run on the Express projects only.
describe.runIf(currentTestPlatform() === 'express')(
  'Express middleware around a route',
  () => {
    let t: TestApp | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });

    it("an auth guard on express-session: each job runs as its session's user, and an anonymous one fails with the guard's answer", async () => {
      t = await createTestApp({
        controllers: [ClientController, SessionController],
        configure: (app) =>
          app.use(
            session({
              secret: 'real-apps-session-secret',
              resave: false,
              saveUninitialized: false,
            }),
          ),
      });
      const carol = { cookie: await logIn(t.url, 'carol') };
      const dave = { cookie: await logIn(t.url, 'dave') };
      const [asCarol, asDave] = await Promise.all([
        startAsClient(t.url, carol, 'session/report'),
        startAsClient(t.url, dave, 'session/report'),
      ]);
      for (const [id, user] of [
        [asCarol, 'carol'],
        [asDave, 'dave'],
      ]) {
        const done = await waitForJob(t.backjob, id);
        expect(done.status).toBe(JobStatus.Completed);
        expect(done.statusText).toBe(`report for ${user}`);
      }

      const anonymous = await waitForJob(
        t.backjob,
        await startAsClient(t.url, carol, 'session/report', {
          withUserCookies: false,
        }),
      );
      expect(anonymous.status).toBe(JobStatus.Failed);
      expect(anonymous.statusText).toContain('answered 401');
      expect(anonymous.statusText).toContain(
        'Log in first: this session has no user.',
      );
    });

    describe('compression and helmet', () => {
      beforeEach(async () => {
        t = await createTestApp({
          controllers: [ClientController, CompressedController],
          // The worst case: the caller's Accept-Encoding is passed on too.
          backjob: {
            forwardHeaders: ['cookie', 'authorization', 'accept-encoding'],
          },
          configure: (app) => {
            app.use(helmet());
            app.use(compression());
          },
        });
      });
      const asBrowser = { 'accept-encoding': 'gzip, deflate, br' };

      it('are on, as installed: helmet sets its headers, and a long answer is compressed', async () => {
        const response = await fetch(`${t!.url}/compressed/plain`, {
          headers: asBrowser,
        });
        expect(response.status).toBe(200);
        // Brotli, the best of what the caller accepts.
        expect(response.headers.get('content-encoding')).toBe('br');
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('content-security-policy')).toContain(
          "default-src 'self'",
        );
        expect(await response.text()).toBe(LONG_REPORT);
      });

      it.each([
        ['returns', 'returned'],
        ['writes to the response in pieces', 'written'],
      ])(
        'a job whose handler %s its output ends with that output, not compressed bytes',
        async (_, kind) => {
          const id = await startAsClient(
            t!.url,
            asBrowser,
            `compressed/${kind}`,
          );
          const done = await waitForJob(t!.backjob, id);
          expect(done.status).toBe(JobStatus.Completed);
          expect(done.statusText).toBe(
            kind === 'returned' ? LONG_REPORT : `${LONG_REPORT}\nend of report`,
          );
        },
      );

      it("a job refused before its handler fails with the refusal's text, not compressed bytes", async () => {
        const id = await startAsClient(t!.url, asBrowser, 'compressed/refused');
        const failed = await waitForJob(t!.backjob, id);
        expect(failed.status).toBe(JobStatus.Failed);
        expect(failed.statusText).toContain('answered 403');
        expect(failed.statusText).toContain('Not today. line 0: all is well');
      });
    });
  },
);
