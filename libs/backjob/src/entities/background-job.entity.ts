import { Column, Entity, PrimaryColumn, type ColumnType } from 'typeorm';
import type { JobStatus } from '../lifecycle/job-lifecycle.js';
import {
  columnTransformer,
  columnType,
  JOB_COLUMNS,
  toColumnValue,
} from '../storage/job-table.schema.js';

/**
 * A row of the job table (`e_background_job` unless `tableName` says
 * otherwise). Columns are snake_case in the database, camelCase here.
 *
 * TypeORM's `synchronize` leaves this table alone (MySQL's TEXT would cut the
 * output at 64 KiB); the module creates and upgrades it
 * (`checkAndCreateTable`) or `BackJobMigrations` do.
 */
@Entity({ name: 'e_background_job', synchronize: false })
export class BackgroundJobEntity {
  /** Random UUID: ids cannot be guessed from one another. */
  declare id: string;
  declare scope: string;
  declare progress: number;
  declare status: JobStatus;
  /** Epoch milliseconds. */
  declare startTime: number;
  declare updatedTime: number;
  declare endTime: number | null;
  /** The request to run, as JSON, without any credential. */
  declare request: string;
  declare statusText: string;
  /** Set while the job is pending and identical requests merge into it. */
  declare mergeKey: string | null;
  /** True when the job forwards no credentials, so any instance can run it. */
  declare anonymous: boolean;
  /** The job's result as JSON text, once it ended with one. */
  declare result: string | null;
  /** The job this one runs again (`retry()`). */
  declare retryOf: string | null;
}

// The columns come from the table's one description (storage/job-table.schema.ts).
for (const column of JOB_COLUMNS) {
  const options = {
    name: column.name,
    type: columnType(column, undefined) as ColumnType,
    length: column.length,
    default:
      column.default === undefined
        ? undefined
        : toColumnValue(column, column.default),
    transformer: columnTransformer(column),
  };
  const decorate = column.primary
    ? PrimaryColumn(options)
    : Column({ ...options, nullable: column.nullable ?? false });
  decorate(BackgroundJobEntity.prototype, column.property);
}

/** The entity class of the table the options name. */
export function jobEntityFor(tableName: string): typeof BackgroundJobEntity {
  if (tableName === 'e_background_job') return BackgroundJobEntity;
  // A subclass per table name: TypeORM reads the columns from the parent.
  @Entity({ name: tableName, synchronize: false })
  class NamedBackgroundJobEntity extends BackgroundJobEntity {}
  return NamedBackgroundJobEntity;
}
