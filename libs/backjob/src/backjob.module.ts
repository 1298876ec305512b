import {
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { ConfigurableBackJobModule } from './backjob.module-definition.js';
import { SelfCheckMiddleware } from './flow/self-check.middleware.js';

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
  // The self-check pings the root of the app (below its global prefix),
  // and only there does the middleware run: every other GET skips it.
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(SelfCheckMiddleware)
      .forRoutes({ path: '/', method: RequestMethod.GET });
  }
}
