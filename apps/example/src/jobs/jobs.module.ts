import { Module } from '@nestjs/common';
import { BackJobLiveModule } from 'nestjs-backjob';
import { canWatchDemoJob } from './demo-user.js';
import { JobsController } from './jobs.controller.js';
import { ReportsController } from './reports.controller.js';

@Module({
  imports: [
    // GET /jobs/:id (JSON) and GET /jobs/:id/events (Server-Sent Events).
    BackJobLiveModule.forRoot({ path: 'jobs', canWatch: canWatchDemoJob }),
  ],
  controllers: [JobsController, ReportsController],
})
export class JobsModule {}
