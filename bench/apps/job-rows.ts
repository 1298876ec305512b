import { JobStatus } from 'nestjs-backjob';
import type { DataSource } from 'typeorm';

// Reads of BackJob's table straight from the database, through the app's
// own connection: what is stored, whatever the library keeps in memory or in
// a cache. The columns are the documented ones (README, "The table").

/** How many jobs of the table have completed, and how many ended otherwise. */
export async function endedCounts(
  dataSource: DataSource,
  table: string,
): Promise<{ completed: number; other: number }> {
  const [row] = (await dataSource.query(
    `SELECT SUM(CASE WHEN status = ${JobStatus.Completed} THEN 1 ELSE 0 END) AS completed, ` +
      `SUM(CASE WHEN status > ${JobStatus.Completed} THEN 1 ELSE 0 END) AS other FROM "${table}"`,
  )) as { completed: string | number | null; other: string | number | null }[];
  return { completed: Number(row.completed), other: Number(row.other) };
}

/** The stored progress and text of one job. */
export async function storedProgress(
  dataSource: DataSource,
  table: string,
  id: string,
): Promise<{ progress: number; statusText: string } | undefined> {
  const placeholder = dataSource.options.type === 'postgres' ? '$1' : '?';
  const [row] = (await dataSource.query(
    `SELECT progress, status_text FROM "${table}" WHERE id = ${placeholder}`,
    [id],
  )) as { progress: number; status_text: string }[];
  return row && { progress: Number(row.progress), statusText: row.status_text };
}
