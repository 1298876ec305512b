import {
  Controller,
  Get,
  Header,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { BackJobService, type JobStatusSnapshot } from 'nestjs-backjob';
import { readFileSync } from 'node:fs';

const PAGE = readFileSync(
  new URL('../../public/index.html', import.meta.url),
  'utf8',
);

/** What the browser talks to: the page, starting jobs and reading them. */
@Controller()
export class JobsController {
  constructor(private readonly backjob: BackJobService) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  /** Starts the long job as the current user and returns its id. */
  @Post('jobs/long')
  async startLong(): Promise<{ id: string }> {
    return { id: await this.backjob.start('reports/long', { merge: false }) };
  }

  /** Starts the job that fails. */
  @Post('jobs/broken')
  async startBroken(): Promise<{ id: string }> {
    return { id: await this.backjob.start('reports/broken', { merge: false }) };
  }

  /** The status the page polls every second. */
  @Get('jobs/:id')
  async status(@Param('id') id: string): Promise<JobStatusSnapshot> {
    const status = await this.backjob.getStatus(id);
    if (!status) throw new NotFoundException(`There is no job ${id}.`);
    return status;
  }
}
