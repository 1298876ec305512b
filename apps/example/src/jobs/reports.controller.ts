import { Body, Controller, Get, Post, Req } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundWorker, BackJobService } from 'nestjs-backjob';
import { exampleConfig } from '../example.config.js';
import { demoUserOf, type DemoRequest } from './demo-user.js';

interface ImportRow {
  name?: string;
  email?: string;
}

/**
 * The background actions. Each runs only as a job (@BackgroundWorker): what
 * it writes and returns becomes the job's output.
 */
@Controller('reports')
export class ReportsController {
  constructor(private readonly backjob: BackJobService) {}

  /**
   * The original BackJob README's long job: progress 1, 20, 40, 60, 80,
   * then done. It says whose job it runs as: the job request carries the
   * caller's cookies, unless it was started with withUserCookies: false.
   * Its waits take the job's signal, so a cancel (or a shutdown) stops it
   * at once.
   */
  @Get('long')
  @BackgroundWorker()
  async long(@Req() request: DemoRequest): Promise<string> {
    const signal = this.backjob.signal();
    this.backjob.write(this.whoami(request));
    this.backjob.write('Job started.\n');
    // update() stores the output written so far along with the progress.
    this.backjob.update(1);
    for (const progress of [20, 40, 60, 80]) {
      await sleep(exampleConfig.stepMs, undefined, { signal });
      this.backjob.update(progress);
      if (progress === 40) this.backjob.write('Job in progress.\n');
    }
    await sleep(exampleConfig.stepMs, undefined, { signal });
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

  /** A POST job: imports the rows of its body, one step per row. */
  @Post('import')
  @BackgroundWorker()
  async import(
    @Req() request: DemoRequest,
    @Body() body: { rows?: ImportRow[] },
  ): Promise<string> {
    const rows = Array.isArray(body.rows) ? body.rows : [];
    this.backjob.write(this.whoami(request));
    let imported = 0;
    for (const [index, row] of rows.entries()) {
      await sleep(exampleConfig.stepMs / 2);
      if (row.email) {
        imported++;
        this.backjob.write(`Row ${index + 1}: ${row.name} <${row.email}>\n`);
      } else {
        this.backjob.write(`Row ${index + 1} skipped: no e-mail address.\n`);
      }
      this.backjob.update(((index + 1) * 100) / rows.length);
    }
    return `Imported ${imported} of ${rows.length} rows.`;
  }

  private whoami(request: DemoRequest): string {
    const user = demoUserOf(request);
    return user ? `Running as ${user}.\n` : 'Running anonymously: no user.\n';
  }
}
