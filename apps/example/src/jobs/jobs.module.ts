import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller.js';
import { ReportsController } from './reports.controller.js';

@Module({ controllers: [JobsController, ReportsController] })
export class JobsModule {}
