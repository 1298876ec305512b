import { Logger, type OnModuleInit } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { migrateJobTable } from '../migrations/backjob.migration.js';
import { usesSqliteWal } from './sqlite-journal.check.js';

/**
 * Prepares the database at boot: creates the job table, or upgrades one of
 * an earlier version, when `checkAndCreateTable` is on, and says so when it is off and the table is
 * missing (every job would fail), or when SQLite runs without WAL.
 */
export class JobTableInitializer implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tableName: string,
    private readonly enabled: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    const logger = new Logger(BACKJOB_LOGGER_CONTEXT);
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      if (this.enabled) await migrateJobTable(queryRunner, this.tableName);
      else if (!(await queryRunner.hasTable(this.tableName))) {
        logger.error(messages.missingTableMessage(this.tableName));
      }
      if (!(await usesSqliteWal(queryRunner))) {
        logger.warn(messages.sqliteWithoutWalMessage());
      }
    } finally {
      await queryRunner.release();
    }
  }
}
