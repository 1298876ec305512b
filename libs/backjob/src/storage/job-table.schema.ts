import {
  Table,
  TableColumn,
  TableIndex,
  type DataSource,
  type ValueTransformer,
} from 'typeorm';
import { JobStatus } from '../lifecycle/job-lifecycle.js';
import type { JobRecord } from './job-store.js';

// The job table, described once. The entity, the DDL of every migration, the
// statements' column lists and the row mapping (of SQL rows and Redis hashes)
// are all derived from this list; a new column is one more entry here and a
// migration that adds the entries of its version.

/**
 * How a value is kept. Times are epoch milliseconds in a BIGINT: UTC by
 * construction on every driver, unlike DATETIME columns whose time zone each
 * driver treats its own way. `flag` is a boolean as SMALLINT 0/1, the one
 * boolean that SQLite, PostgreSQL and MySQL write and read alike.
 */
export type JobColumnKind = 'varchar' | 'smallint' | 'bigint' | 'text' | 'flag';

export interface JobColumn {
  property: keyof JobRecord;
  name: string;
  kind: JobColumnKind;
  length?: number;
  nullable?: boolean;
  primary?: boolean;
  /** Also what a stored row or hash without this column reads as. */
  default?: string | number | boolean;
  /** The migration that adds the column (see `migrations/`). */
  version: number;
}

export const JOB_COLUMNS: readonly JobColumn[] = [
  // Random UUID: ids cannot be guessed from one another.
  {
    property: 'id',
    name: 'id',
    kind: 'varchar',
    length: 36,
    primary: true,
    version: 1,
  },
  {
    property: 'scope',
    name: 'scope',
    kind: 'varchar',
    length: 255,
    default: '',
    version: 1,
  },
  {
    property: 'progress',
    name: 'progress',
    kind: 'smallint',
    default: 0,
    version: 1,
  },
  {
    property: 'status',
    name: 'status',
    kind: 'smallint',
    default: JobStatus.Started,
    version: 1,
  },
  { property: 'startTime', name: 'start_time', kind: 'bigint', version: 1 },
  { property: 'updatedTime', name: 'updated_time', kind: 'bigint', version: 1 },
  {
    property: 'endTime',
    name: 'end_time',
    kind: 'bigint',
    nullable: true,
    version: 1,
  },
  { property: 'request', name: 'request', kind: 'text', version: 1 },
  { property: 'statusText', name: 'status_text', kind: 'text', version: 1 },
  // Set while the job is pending, so that a unique index merges identical
  // requests atomically; cleared when it ends.
  {
    property: 'mergeKey',
    name: 'merge_key',
    kind: 'varchar',
    length: 64,
    nullable: true,
    version: 1,
  },
  // Rows of version 1 ran as a user, the only kind there was then.
  {
    property: 'anonymous',
    name: 'anonymous',
    kind: 'flag',
    default: false,
    version: 2,
  },
  // JSON text: the value round-trips through JSON.parse on every store.
  {
    property: 'result',
    name: 'result',
    kind: 'text',
    nullable: true,
    version: 3,
  },
  {
    property: 'retryOf',
    name: 'retry_of',
    kind: 'varchar',
    length: 36,
    nullable: true,
    version: 3,
  },
];

/** The column of a record's property. */
export function jobColumn(property: keyof JobRecord): JobColumn {
  return JOB_COLUMNS.find((column) => column.property === property)!;
}

type DriverType = DataSource['options']['type'] | undefined;

/** The column's SQL type; MySQL's and MariaDB's TEXT holds only 64 KiB, so output gets LONGTEXT there. */
export function columnType(column: JobColumn, driver: DriverType): string {
  if (column.kind === 'flag') return 'smallint';
  if (column.kind === 'text' && (driver === 'mysql' || driver === 'mariadb'))
    return 'longtext';
  return column.kind;
}

/** A record's value as the database stores it. */
export function toColumnValue(column: JobColumn, value: unknown): unknown {
  if (column.kind === 'flag') return value ? 1 : 0;
  return value;
}

/**
 * A stored value (a SQL row's, where PostgreSQL and MySQL hand BIGINT back as
 * a string, or a Redis hash field's, where `null` is the empty string) as
 * the record's. Missing values read as the column's default.
 */
export function fromColumnValue(column: JobColumn, value: unknown): unknown {
  if (
    value === null ||
    value === undefined ||
    (value === '' && column.nullable)
  )
    return column.nullable ? null : (column.default ?? emptyOf(column));
  switch (column.kind) {
    case 'smallint':
    case 'bigint':
      return Number(value);
    case 'flag':
      return value === true || value === 'true' || Number(value) === 1;
    default:
      return String(value);
  }
}

function emptyOf(column: JobColumn): unknown {
  return column.kind === 'varchar' || column.kind === 'text' ? '' : 0;
}

/** The record whose stored values `read` gives, column by column. */
export function recordFrom(read: (column: JobColumn) => unknown): JobRecord {
  return Object.fromEntries(
    JOB_COLUMNS.map((c) => [c.property, fromColumnValue(c, read(c))]),
  ) as unknown as JobRecord;
}

/** The record of a stored row, read by column name. */
export function recordOfRow(row: Record<string, unknown>): JobRecord {
  return recordFrom((column) => row[column.name]);
}

/** The transformer of the entity's column: the same mapping as the statements'. */
export function columnTransformer(column: JobColumn): ValueTransformer {
  return {
    to: (value: unknown) => toColumnValue(column, value),
    from: (value: unknown) => fromColumnValue(column, value),
  };
}

/** The DDL of a column. */
export function tableColumn(
  column: JobColumn,
  driver: DriverType,
): TableColumn {
  const value = toColumnValue(column, column.default);
  return new TableColumn({
    name: column.name,
    type: columnType(column, driver),
    length: column.length === undefined ? undefined : String(column.length),
    isPrimary: column.primary ?? false,
    isNullable: column.nullable ?? false,
    // TableColumn takes the default as SQL.
    default:
      column.default === undefined
        ? undefined
        : typeof value === 'string'
          ? `'${value}'`
          : value,
  });
}

/** The table as migration `version` creates it: the columns that version had. */
export function jobTable(
  tableName: string,
  driver: DriverType,
  version: number,
): Table {
  return new Table({
    name: tableName,
    columns: JOB_COLUMNS.filter((c) => c.version <= version).map((c) =>
      tableColumn(c, driver),
    ),
    indices: jobTableIndexes(tableName, version),
  });
}

/** The indexes that migration `version` brings (or, with `upTo`, all those up to it). */
export function jobTableIndexes(
  tableName: string,
  version: number,
  upTo = true,
): TableIndex[] {
  return JOB_INDEXES(tableName)
    .filter((entry) =>
      upTo ? entry.version <= version : entry.version === version,
    )
    .map((entry) => entry.index);
}

const JOB_INDEXES = (
  tableName: string,
): { version: number; index: TableIndex }[] => [
  ...[
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
  ].map((index) => ({ version: 1, index })),
  // list(): newest first, in one scope or in all.
  ...[
    new TableIndex({
      name: `IDX_${tableName}_scope_start`,
      columnNames: ['scope', 'start_time'],
    }),
    new TableIndex({
      name: `IDX_${tableName}_start`,
      columnNames: ['start_time'],
    }),
  ].map((index) => ({ version: 3, index })),
];
