import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BackJobModule,
  createBackJobMigrations,
  JobStatus,
} from 'nestjs-backjob';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { BACKJOB_JOB_STORE } from '../libs/backjob/src/backjob.constants.js';
import type { JobStore } from '../libs/backjob/src/storage/job-store.js';
import { bootApp } from './fixtures/boot.js';
import { TEST_KEY } from './fixtures/test-app.js';
import { currentTestStore, serviceUrl } from './fixtures/test-stores.js';

// Needs a database: runs on the project's own (SQLite, PostgreSQL or
// MariaDB), and not where the cache is the only store.
const store = currentTestStore();

function databaseOptions(): DataSourceOptions {
  if (store === 'mariadb')
    return { type: 'mariadb', url: serviceUrl('mariadb') };
  if (store === 'postgres' || store === 'postgres+redis')
    return { type: 'postgres', url: serviceUrl('postgres') };
  const dir = mkdtempSync(join(tmpdir(), 'backjob-migrations-'));
  return { type: 'better-sqlite3', database: join(dir, 'app.sqlite') };
}

// The job table as version 1 of the module created it, written out rather
// than taken from the module, so that the test does not trust what it tests.
const V1_TABLE = (name: string) => `CREATE TABLE ${name} (
  id varchar(36) NOT NULL PRIMARY KEY,
  scope varchar(255) NOT NULL DEFAULT '',
  progress smallint NOT NULL DEFAULT 0,
  status smallint NOT NULL DEFAULT 0,
  start_time bigint NOT NULL,
  updated_time bigint NOT NULL,
  end_time bigint NULL,
  request text NOT NULL,
  status_text text NOT NULL,
  merge_key varchar(64) NULL
)`;

// The Redis-only store keeps jobs in Redis hashes: it has no table to migrate.
describe.skipIf(store === 'redis')(
  `the job table's migrations on ${store}`,
  () => {
    let options: DataSourceOptions;
    let admin: DataSource;
    const tables: string[] = [];
    const newTableName = () => {
      const name = `bj_mig_${randomBytes(4).toString('hex')}`;
      tables.push(name);
      return name;
    };

    beforeAll(async () => {
      options = databaseOptions();
      admin = await new DataSource(options).initialize();
    });
    afterAll(async () => {
      const queryRunner = admin.createQueryRunner();
      for (const table of tables) await queryRunner.dropTable(table, true);
      await queryRunner.release();
      await admin.destroy();
    });

    /** The table as the database describes it, on a connection given back after. */
    async function describeTable(table: string) {
      const queryRunner = admin.createQueryRunner();
      try {
        return await queryRunner.getTable(table);
      } finally {
        await queryRunner.release();
      }
    }
    const columns = async (table: string) =>
      (await describeTable(table))?.columns.map((column) => column.name);
    const indexNames = async (table: string) =>
      (await describeTable(table))?.indices.map((index) => index.name);

    async function boot(tableName: string) {
      return bootApp({
        imports: [
          TypeOrmModule.forRoot({ ...options, autoLoadEntities: true }),
          ScheduleModule.forRoot(),
          BackJobModule.forRoot({
            key: TEST_KEY,
            tableName,
            checkAndCreateTable: true,
          }),
        ],
      });
    }

    it('upgrades a table of version 1 at boot, its old rows reading as run by a user, and a second boot changes nothing', async () => {
      const tableName = newTableName();
      const id = randomUUID();
      await admin.query(V1_TABLE(tableName));
      await admin.query(
        `INSERT INTO ${tableName} (id, scope, progress, status, start_time, updated_time, end_time, request, status_text, merge_key) VALUES ('${id}', 'old', 100, 2, 1700000000000, 1700000001000, 1700000002000, '{}', 'done', NULL)`,
      );
      expect(await columns(tableName)).not.toContain('anonymous');

      const first = await boot(tableName);
      try {
        expect(await columns(tableName)).toContain('anonymous');
        const jobs = first.get<JobStore>(BACKJOB_JOB_STORE);
        expect(await jobs.find(id)).toEqual({
          id,
          scope: 'old',
          progress: 100,
          status: JobStatus.Completed,
          startTime: 1_700_000_000_000,
          updatedTime: 1_700_000_001_000,
          endTime: 1_700_000_002_000,
          request: '{}',
          statusText: 'done',
          mergeKey: null,
          anonymous: false,
          result: null,
          retryOf: null,
        });
        expect(await columns(tableName)).toEqual(
          expect.arrayContaining(['result', 'retry_of']),
        );
        expect(await indexNames(tableName)).toEqual(
          expect.arrayContaining([
            `IDX_${tableName}_scope_start`,
            `IDX_${tableName}_start`,
          ]),
        );
      } finally {
        await first.close();
      }
      const table = await describeTable(tableName);
      const second = await boot(tableName);
      try {
        expect(await describeTable(tableName)).toEqual(table);
        expect(
          (await second.get<JobStore>(BACKJOB_JOB_STORE).find(id))?.statusText,
        ).toBe('done');
      } finally {
        await second.close();
      }
    });

    it("run under TypeORM's migration runner in order, once, and undo one by one", async () => {
      const tableName = newTableName();
      const migrations = createBackJobMigrations(tableName);
      const dataSource = await new DataSource({
        ...options,
        migrations,
        migrationsTableName: `${tableName}_migrations`,
      }).initialize();
      tables.push(`${tableName}_migrations`);
      try {
        const ran = await dataSource.runMigrations();
        expect(ran.map((migration) => migration.name)).toEqual([
          'BackJobCreateTable1764460800000',
          'BackJobAddAnonymous1767225600000',
          'BackJobAddResult1780272000000',
        ]);
        expect(await columns(tableName)).toContain('anonymous');
        expect(await columns(tableName)).toContain('retry_of');
        expect(await dataSource.runMigrations()).toEqual([]);

        // The boot finds nothing to do on a table the runner made.
        const app = await boot(tableName);
        await app.close();

        await dataSource.undoLastMigration();
        expect(await columns(tableName)).not.toContain('result');
        expect(await indexNames(tableName)).not.toContain(
          `IDX_${tableName}_start`,
        );
        expect(await columns(tableName)).toContain('anonymous');
        await dataSource.undoLastMigration();
        expect(await columns(tableName)).not.toContain('anonymous');
        expect(await columns(tableName)).toContain('merge_key');
        await dataSource.undoLastMigration();
        expect(await describeTable(tableName)).toBeUndefined();
      } finally {
        await dataSource.destroy();
      }
    });
  },
);
