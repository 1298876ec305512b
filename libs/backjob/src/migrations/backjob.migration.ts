import type { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';
import { BACKJOB_DEFAULTS } from '../backjob.options.js';
import {
  JOB_COLUMNS,
  jobTable,
  jobTableIndexes,
  tableColumn,
} from '../storage/job-table.schema.js';

// The versions of the job table. Each migration brings the columns of its
// version in `storage/job-table.schema.ts` and checks before it changes
// anything, so that it is safe under TypeORM's migration runner, at boot
// (`checkAndCreateTable`) and after the other.

type BackJobMigrationClass = new () => MigrationInterface;

/** Creates the table with the columns of version 1 and every index that is missing. */
async function createTable(queryRunner: QueryRunner, tableName: string) {
  const driver = queryRunner.connection.options.type;
  if (!(await queryRunner.hasTable(tableName))) {
    await queryRunner.createTable(jobTable(tableName, driver, 1), true);
    return;
  }
  await addIndexes(queryRunner, tableName, jobTableIndexes(tableName, 1));
}

async function addIndexes(
  queryRunner: QueryRunner,
  tableName: string,
  indexes: readonly TableIndex[],
) {
  const existing = await queryRunner.getTable(tableName);
  for (const index of indexes)
    if (!existing?.indices.some((i) => i.name === index.name))
      await queryRunner.createIndex(tableName, index);
}

/** Adds the columns of `version` that are missing. */
async function addColumns(
  queryRunner: QueryRunner,
  tableName: string,
  version: number,
) {
  const driver = queryRunner.connection.options.type;
  for (const column of JOB_COLUMNS.filter((c) => c.version === version))
    if (!(await queryRunner.hasColumn(tableName, column.name)))
      await queryRunner.addColumn(tableName, tableColumn(column, driver));
}

async function dropColumns(
  queryRunner: QueryRunner,
  tableName: string,
  version: number,
) {
  for (const column of JOB_COLUMNS.filter((c) => c.version === version))
    if (await queryRunner.hasColumn(tableName, column.name))
      await queryRunner.dropColumn(tableName, column.name);
}

/**
 * Instances that boot together race here: the loser's CREATE or ALTER
 * fails on what the winner just made, so a failure is checked again (the
 * step sees what exists) and retried.
 */
async function raceSafe(step: () => Promise<void>, attempts = 3) {
  try {
    await step();
  } catch (error) {
    if (attempts <= 1) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100 * Math.random()));
    await raceSafe(step, attempts - 1);
  }
}

/**
 * The TypeORM migration classes of the job table named `tableName`, in
 * order: add them all to your data source's `migrations` when you run
 * migrations in production and set `checkAndCreateTable: false`.
 */
export function createBackJobMigrations(
  tableName: string = BACKJOB_DEFAULTS.tableName,
): BackJobMigrationClass[] {
  return [
    createBackJobMigration(tableName),
    addAnonymousMigration(tableName),
    addResultMigration(tableName),
  ];
}

/**
 * The first migration alone: creates the job table named `tableName` with
 * its indexes (LONGTEXT output on MySQL/MariaDB). Kept for apps that listed
 * it; `createBackJobMigrations` gives it with the ones that followed.
 */
export function createBackJobMigration(
  tableName: string = BACKJOB_DEFAULTS.tableName,
) {
  return class BackJobMigration implements MigrationInterface {
    // TypeORM orders migrations by the timestamp at the end of their name,
    // and knows the ones it ran by their name: it must never change.
    readonly name = `BackJobCreateTable1764460800000`;

    async up(queryRunner: QueryRunner): Promise<void> {
      await raceSafe(() => createTable(queryRunner, tableName));
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await queryRunner.dropTable(tableName, true);
    }
  };
}

/** Version 2: `anonymous`, which tells which waiting jobs another instance may take over. */
function addAnonymousMigration(tableName: string) {
  return class BackJobAddAnonymous implements MigrationInterface {
    readonly name = `BackJobAddAnonymous1767225600000`;

    async up(queryRunner: QueryRunner): Promise<void> {
      await raceSafe(() => addColumns(queryRunner, tableName, 2));
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      await dropColumns(queryRunner, tableName, 2);
    }
  };
}

/**
 * Version 3: `result` and `retry_of`, and the indexes of `list()`. Columns
 * and indexes come and go together, so `down` drops the indexes first.
 */
function addResultMigration(tableName: string) {
  return class BackJobAddResult implements MigrationInterface {
    readonly name = `BackJobAddResult1780272000000`;

    async up(queryRunner: QueryRunner): Promise<void> {
      await raceSafe(async () => {
        await addColumns(queryRunner, tableName, 3);
        await addIndexes(
          queryRunner,
          tableName,
          jobTableIndexes(tableName, 3, false),
        );
      });
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      const existing = await queryRunner.getTable(tableName);
      for (const index of jobTableIndexes(tableName, 3, false))
        if (existing?.indices.some((i) => i.name === index.name))
          await queryRunner.dropIndex(tableName, index.name!);
      await dropColumns(queryRunner, tableName, 3);
    }
  };
}

/** Brings the job table to the latest version, as `checkAndCreateTable` does at boot. */
export async function migrateJobTable(
  queryRunner: QueryRunner,
  tableName: string,
): Promise<void> {
  for (const Migration of createBackJobMigrations(tableName))
    await new Migration().up(queryRunner);
}

/** The migration of the default table, `e_background_job`: its first version alone. */
export const BackJobMigration = createBackJobMigration();

/** The migrations of the default table, `e_background_job`, in order: add them to `migrations`. */
export const BackJobMigrations = createBackJobMigrations();
