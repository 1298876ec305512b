import { Controller, Get } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule, getDataSourceToken } from '@nestjs/typeorm';
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BackgroundWorker,
  BackJobMigrations,
  BackJobModule,
  BackJobService,
  JobStatus,
} from 'nestjs-backjob';
import type { DataSource } from 'typeorm';
import { bootApp, RecordingLogger } from './fixtures/boot.js';
import { TEST_KEY, waitForJob } from './fixtures/test-app.js';

@Controller('ping')
class PingController {
  @Get()
  @BackgroundWorker()
  ping() {
    return 'pong';
  }
}

function newSqliteFile() {
  return join(mkdtempSync(join(tmpdir(), 'backjob-storage-')), 'app.sqlite');
}

function tableNames(file: string): string[] {
  const db = new Database(file, { readonly: true });
  const rows = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name",
    )
    .all() as { name: string }[];
  db.close();
  return rows.map((row) => row.name);
}

describe('storage options', () => {
  it('checkAndCreateTable creates the job table and its indexes, and nothing else of the app', async () => {
    const file = newSqliteFile();
    const app = await bootApp({
      imports: [
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: file,
          autoLoadEntities: true,
          synchronize: true,
        }),
        ScheduleModule.forRoot(),
        BackJobModule.forRoot({ key: TEST_KEY }),
      ],
      controllers: [PingController],
    });
    try {
      expect(tableNames(file)).toEqual([
        'IDX_e_background_job_end_time',
        'IDX_e_background_job_scope_start',
        'IDX_e_background_job_start',
        'IDX_e_background_job_status_updated',
        'UQ_e_background_job_merge_key',
        'e_background_job',
        expect.stringMatching(/^sqlite_autoindex_e_background_job/),
      ]);
    } finally {
      await app.close();
    }
  });

  it('without checkAndCreateTable, a missing table is reported at boot, and BackJobMigrations create it', async () => {
    const file = newSqliteFile();
    const logger = new RecordingLogger();
    const app = await bootApp(
      {
        imports: [
          TypeOrmModule.forRoot({
            type: 'better-sqlite3',
            database: file,
            autoLoadEntities: true,
            migrations: BackJobMigrations,
          }),
          ScheduleModule.forRoot(),
          BackJobModule.forRoot({ key: TEST_KEY, checkAndCreateTable: false }),
        ],
        controllers: [PingController],
      },
      logger,
    );
    try {
      expect(tableNames(file)).not.toContain('e_background_job');
      expect(logger.errors.join('\n')).toMatch(
        /table e_background_job does not exist.*Run BackJobMigration/,
      );
      const dataSource = app.get<DataSource>(getDataSourceToken());
      await dataSource.runMigrations();
      expect(tableNames(file)).toContain('UQ_e_background_job_merge_key');
      const backjob = app.get(BackJobService);
      expect(
        (await waitForJob(backjob, await backjob.start('ping'))).status,
      ).toBe(JobStatus.Completed);
      for (let i = 0; i < BackJobMigrations.length; i++)
        await dataSource.undoLastMigration();
      expect(tableNames(file)).not.toContain('e_background_job');
    } finally {
      await app.close();
    }
  });

  it('warns when SQLite runs without WAL, and not when it does', async () => {
    const bootWith = async (enableWAL: boolean) => {
      const logger = new RecordingLogger();
      const app = await bootApp(
        {
          imports: [
            TypeOrmModule.forRoot({
              type: 'better-sqlite3',
              database: newSqliteFile(),
              autoLoadEntities: true,
              enableWAL,
            }),
            ScheduleModule.forRoot(),
            BackJobModule.forRoot({ key: TEST_KEY }),
          ],
        },
        logger,
      );
      await app.close();
      return logger.warnings.join('\n');
    };
    expect(await bootWith(false)).toMatch(
      /rollback-journal mode.*enableWAL: true/,
    );
    expect(await bootWith(true)).not.toMatch(/rollback-journal/);
  });

  it('uses the TypeORM data source it is given by name', async () => {
    const appFile = newSqliteFile();
    const jobsFile = newSqliteFile();
    const app = await bootApp({
      imports: [
        TypeOrmModule.forRoot({ type: 'better-sqlite3', database: appFile }),
        TypeOrmModule.forRoot({
          name: 'jobs',
          type: 'better-sqlite3',
          database: jobsFile,
          autoLoadEntities: true,
        }),
        ScheduleModule.forRoot(),
        BackJobModule.forRoot({ key: TEST_KEY, dataSource: 'jobs' }),
      ],
      controllers: [PingController],
    });
    try {
      const backjob = app.get(BackJobService);
      expect(
        (await waitForJob(backjob, await backjob.start('ping'))).statusText,
      ).toBe('pong');
      expect(tableNames(jobsFile)).toContain('e_background_job');
      expect(tableNames(appFile)).not.toContain('e_background_job');
    } finally {
      await app.close();
    }
  });
});
