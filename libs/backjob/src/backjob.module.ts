import { Module, type NestModule } from '@nestjs/common';
import { ConfigurableBackJobModule } from './backjob.module-definition.js';
import { InternalRequestHandler } from './flow/internal-request.handler.js';
import { HttpPlatform } from './platform/http-platform.js';

/**
 * Turns controller actions into background jobs with progress.
 *
 * ```ts
 * BackJobModule.forRoot({ key: process.env.BACKJOB_KEY })
 * BackJobModule.forRootAsync({ inject: [ConfigService], useFactory: (c) => ({ key: c.get('BACKJOB_KEY') }) })
 * ```
 *
 * Global by default. Needs the app's `TypeOrmModule.forRoot()` (unless
 * `useDb: false`) and `ScheduleModule.forRoot()`.
 */
@Module({})
export class BackJobModule
  extends ConfigurableBackJobModule
  implements NestModule
{
  constructor(
    private readonly platform: HttpPlatform,
    private readonly requests: InternalRequestHandler,
  ) {
    super();
  }

  // Called while Nest sets up middleware, before it registers the routes
  // (and never for an app without an HTTP server): every route may be
  // started as a job, and any may call start().
  configure(): void {
    this.platform.beforeRoutes((request, response, next) =>
      this.requests.handle(request, response, next),
    );
  }
}
