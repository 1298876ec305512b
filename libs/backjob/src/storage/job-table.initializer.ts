import type { OnModuleInit } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ensureJobTable } from './job-table.js';

/** Creates the job table at boot when `checkAndCreateTable` is on. */
export class JobTableInitializer implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tableName: string,
    private readonly enabled: boolean,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      await ensureJobTable(queryRunner, this.tableName);
    } finally {
      await queryRunner.release();
    }
  }
}
