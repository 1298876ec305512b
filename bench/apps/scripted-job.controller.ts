import { Controller, Get, Injectable, Param } from '@nestjs/common';
import { BackgroundWorker, BackJobService } from 'nestjs-backjob';
import { JobLedger } from '../ledger.js';

/**
 * What the job's action does, set by the scenario before it starts jobs.
 * It runs inside the worker request, so `backjob.update()` reaches the job.
 */
@Injectable()
export class JobScript {
  run: (seq: number, backjob: BackJobService) => Promise<void> = async () =>
    undefined;
}

/** One background route whose action is the scenario's `JobScript`. */
@Controller('bench')
export class ScriptedJobController {
  constructor(
    private readonly backjob: BackJobService,
    private readonly ledger: JobLedger,
    private readonly script: JobScript,
  ) {}

  /** `at` is `performance.now()` when start() was called. */
  @Get('scripted/:seq/:at')
  @BackgroundWorker()
  async scripted(
    @Param('seq') seq: string,
    @Param('at') at: string,
  ): Promise<string> {
    this.ledger.enter(Number(seq), Number(at));
    try {
      await this.script.run(Number(seq), this.backjob);
    } finally {
      this.ledger.leave(Number(seq));
    }
    return 'ok';
  }
}

/** The route of job `seq` of a ScriptedJobController, to pass to start(). */
export function scriptedRoute(seq: number, at: number): string {
  return `bench/scripted/${seq}/${at}`;
}

/**
 * The controller and providers of an app whose one route runs the
 * scenario's `script`, recording each run in `ledger`: spread into
 * `createBenchApp()`'s options.
 */
export function scriptedJobApp(ledger: JobLedger, script: JobScript) {
  return {
    controllers: [ScriptedJobController],
    providers: [
      { provide: JobLedger, useValue: ledger },
      { provide: JobScript, useValue: script },
    ],
  };
}
