import { Controller, Get } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundWorker, BackJobService } from 'nestjs-backjob';
import { exampleConfig } from '../example.config.js';

/**
 * The background actions. Each runs only as a job (@BackgroundWorker): what
 * it writes and returns becomes the job's output.
 */
@Controller('reports')
export class ReportsController {
  constructor(private readonly backjob: BackJobService) {}

  /** The original BackJob README's long job: progress 1, 20, 40, 60, 80, then done. */
  @Get('long')
  @BackgroundWorker()
  async long(): Promise<string> {
    this.backjob.update(1);
    this.backjob.write('Job started.\n');
    for (const progress of [20, 40, 60, 80]) {
      await sleep(exampleConfig.stepMs);
      this.backjob.update(progress);
      if (progress === 40) this.backjob.write('Job in progress.\n');
    }
    await sleep(exampleConfig.stepMs);
    return 'Job done.';
  }

  /** A job that goes wrong half-way: fail() ends it at once. */
  @Get('broken')
  @BackgroundWorker()
  async broken(): Promise<string> {
    this.backjob.write('Starting the import.\n');
    this.backjob.update(30);
    await sleep(exampleConfig.stepMs);
    this.backjob.write('Row 17 is not valid.\n');
    return this.backjob.fail('Import failed: row 17 has no e-mail address.');
  }
}
