import { Column, Entity, PrimaryColumn, type ValueTransformer } from 'typeorm';
import { JobStatus } from '../lifecycle/job-lifecycle.js';

// Times are epoch milliseconds in a BIGINT: UTC by construction on every
// driver, unlike DATETIME columns whose time zone each driver treats its own way.
// PostgreSQL and MySQL hand BIGINT back as a string.
const epochMillis: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) =>
    value === null ? null : Number(value),
};

/**
 * A row of the job table (`e_background_job` unless `tableName` says
 * otherwise). Columns are snake_case in the database, camelCase here.
 *
 * TypeORM's `synchronize` leaves this table alone (MySQL's TEXT would cut the
 * output at 64 KiB); the module creates it (`checkAndCreateTable`) or
 * `BackJobMigration` does.
 */
@Entity({ name: 'e_background_job', synchronize: false })
export class BackgroundJobEntity {
  /** Random UUID: ids cannot be guessed from one another. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  scope!: string;

  @Column({ type: 'smallint', default: 0 })
  progress!: number;

  @Column({ type: 'smallint', default: JobStatus.Started })
  status!: JobStatus;

  @Column({ name: 'start_time', type: 'bigint', transformer: epochMillis })
  startTime!: number;

  @Column({ name: 'updated_time', type: 'bigint', transformer: epochMillis })
  updatedTime!: number;

  @Column({
    name: 'end_time',
    type: 'bigint',
    nullable: true,
    transformer: epochMillis,
  })
  endTime!: number | null;

  /** The request to run, as JSON, without any credential. */
  @Column({ type: 'text' })
  request!: string;

  @Column({ name: 'status_text', type: 'text' })
  statusText!: string;

  /**
   * Set while the job is pending, so that a unique index merges identical
   * requests atomically; cleared when it ends.
   */
  @Column({ name: 'merge_key', type: 'varchar', length: 64, nullable: true })
  mergeKey!: string | null;
}

/** The entity class of the table the options name. */
export function jobEntityFor(tableName: string): typeof BackgroundJobEntity {
  if (tableName === 'e_background_job') return BackgroundJobEntity;
  // A subclass per table name: TypeORM reads the columns from the parent.
  @Entity({ name: tableName, synchronize: false })
  class NamedBackgroundJobEntity extends BackgroundJobEntity {}
  return NamedBackgroundJobEntity;
}
