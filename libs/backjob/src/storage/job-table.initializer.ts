import { Logger, type OnModuleInit } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { ensureJobTable } from './job-table.js';

/**
 * Creates the job table at boot when `checkAndCreateTable` is on, and says
 * so when it is off and the table is missing (every job would fail).
 */
export class JobTableInitializer implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tableName: string,
    private readonly enabled: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      if (this.enabled) await ensureJobTable(queryRunner, this.tableName);
      else if (!(await queryRunner.hasTable(this.tableName))) {
        new Logger(BACKJOB_LOGGER_CONTEXT).error(
          messages.missingTableMessage(this.tableName),
        );
      }
    } finally {
      await queryRunner.release();
    }
  }
}
