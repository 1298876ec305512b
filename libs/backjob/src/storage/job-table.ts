import { Table, TableIndex, type DataSource, type QueryRunner } from 'typeorm';

/**
 * The job table, described once for both `checkAndCreateTable` and
 * `BackJobMigration`. MySQL and MariaDB get LONGTEXT for the output: their
 * TEXT holds only 64 KiB.
 */
export function jobTable(
  tableName: string,
  driverType: DataSource['options']['type'],
): Table {
  const longText =
    driverType === 'mysql' || driverType === 'mariadb' ? 'longtext' : 'text';
  return new Table({
    name: tableName,
    columns: [
      { name: 'id', type: 'varchar', length: '36', isPrimary: true },
      { name: 'scope', type: 'varchar', length: '255', default: "''" },
      { name: 'progress', type: 'smallint', default: 0 },
      { name: 'status', type: 'smallint', default: 0 },
      { name: 'start_time', type: 'bigint' },
      { name: 'updated_time', type: 'bigint' },
      { name: 'end_time', type: 'bigint', isNullable: true },
      { name: 'request', type: longText },
      { name: 'status_text', type: longText },
      { name: 'merge_key', type: 'varchar', length: '64', isNullable: true },
      { name: 'anonymous', type: 'smallint', default: 0 },
    ],
    indices: jobTableIndexes(tableName),
  });
}

function jobTableIndexes(tableName: string): TableIndex[] {
  return [
    // The timeout sweep: pending jobs by their last update.
    new TableIndex({
      name: `IDX_${tableName}_status_updated`,
      columnNames: ['status', 'updated_time'],
    }),
    // The backlog cleanup: ended jobs by their end.
    new TableIndex({
      name: `IDX_${tableName}_end_time`,
      columnNames: ['end_time'],
    }),
    // Merging identical pending requests; NULL once a job ends, and every
    // database allows many NULLs in a unique index.
    new TableIndex({
      name: `UQ_${tableName}_merge_key`,
      columnNames: ['merge_key'],
      isUnique: true,
    }),
  ];
}

/**
 * Creates the table and its indexes where they are missing; touches nothing
 * else. Instances that boot together race here: the loser's CREATE fails
 * on what the winner just made, so a failure is checked and retried.
 */
export async function ensureJobTable(
  queryRunner: QueryRunner,
  tableName: string,
  attempts = 3,
): Promise<void> {
  try {
    await createMissing(queryRunner, tableName);
  } catch (error) {
    if (attempts <= 1) throw error;
    await new Promise((resolve) => setTimeout(resolve, 100 * Math.random()));
    await ensureJobTable(queryRunner, tableName, attempts - 1);
  }
}

async function createMissing(
  queryRunner: QueryRunner,
  tableName: string,
): Promise<void> {
  const driverType = queryRunner.connection.options.type;
  if (!(await queryRunner.hasTable(tableName))) {
    await queryRunner.createTable(jobTable(tableName, driverType), true);
    return;
  }
  const existing = await queryRunner.getTable(tableName);
  for (const index of jobTableIndexes(tableName)) {
    if (!existing?.indices.some((i) => i.name === index.name)) {
      await queryRunner.createIndex(tableName, index);
    }
  }
}
