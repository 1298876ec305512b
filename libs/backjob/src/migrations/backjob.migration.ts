import type { MigrationInterface, QueryRunner } from 'typeorm';
import { BACKJOB_DEFAULTS } from '../backjob.options.js';
import { ensureJobTable } from '../storage/job-table.js';

/**
 * A TypeORM migration class that creates the job table named `tableName`
 * with its indexes (LONGTEXT output on MySQL/MariaDB), for apps that run
 * migrations in production and set `checkAndCreateTable: false`.
 */
export function createBackJobMigration(
  tableName: string = BACKJOB_DEFAULTS.tableName,
) {
  return class BackJobMigration implements MigrationInterface {
    // TypeORM orders migrations by the timestamp at the end of their name.
    readonly name = `BackJobCreateTable1764460800000`;

    async up(queryRunner: QueryRunner): Promise<void> {
      await ensureJobTable(queryRunner, tableName);
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.dropTable(tableName, true);
    }
  };
}

/** The migration of the default table, `e_background_job`: add it to `migrations`. */
export const BackJobMigration = createBackJobMigration();
