import { Module } from '@nestjs/common';
import { BackJobLiveModule } from 'nestjs-backjob';
import {
  canCountDemoJobs,
  canManageDemoJob,
  canWatchDemoJob,
} from './demo-user.js';
import { JobsController } from './jobs.controller.js';
import { ReportsController } from './reports.controller.js';

@Module({
  imports: [
    // GET /jobs/:id (JSON), GET /jobs/:id/events (Server-Sent Events) and
    // the dashboard at GET /jobs/dashboard.
    BackJobLiveModule.forRoot({
      path: 'jobs',
      dashboard: true,
      canWatch: canWatchDemoJob,
      canManage: canManageDemoJob,
      canCount: canCountDemoJobs,
    }),
  ],
  controllers: [JobsController, ReportsController],
})
export class JobsModule {}
