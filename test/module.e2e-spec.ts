import { Controller, Get, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BackgroundWorker,
  BackJobConfigurationError,
  BackJobModule,
  BackJobService,
  JobStatus,
  type BackJobModuleOptions,
} from 'nestjs-backjob';
import { bootApp } from './fixtures/boot.js';
import { createTestApp, TEST_KEY, waitForJob } from './fixtures/test-app.js';

@Controller('hello')
class HelloController {
  constructor(private readonly backjob: BackJobService) {}

  @Get()
  @BackgroundWorker()
  hello() {
    this.backjob.update(50);
    return 'hello from the background';
  }
}

@Injectable()
class SettingsService {
  readonly backjobKey = TEST_KEY;
}

@Module({ providers: [SettingsService], exports: [SettingsService] })
class SettingsModule {}

function sqliteFile() {
  return join(mkdtempSync(join(tmpdir(), 'backjob-module-')), 'jobs.sqlite');
}

function sqliteModule(database: string) {
  return TypeOrmModule.forRoot({
    type: 'better-sqlite3',
    database,
    autoLoadEntities: true,
    enableWAL: true,
  });
}

describe('BackJobModule', () => {
  it('forRootAsync() takes its options from an injected factory', async () => {
    const app = await bootApp({
      imports: [
        sqliteModule(sqliteFile()),
        ScheduleModule.forRoot(),
        BackJobModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SettingsService],
          useFactory: (settings: SettingsService) => ({
            key: settings.backjobKey,
            errorTimeout: 30,
          }),
        }),
      ],
      controllers: [HelloController],
    });
    try {
      const backjob = app.get(BackJobService);
      const id = await backjob.start('hello');
      expect(await waitForJob(backjob, id)).toMatchObject({
        status: JobStatus.Completed,
        statusText: 'hello from the background',
      });
    } finally {
      await app.close();
    }
  });

  it('follows a custom tableName', async () => {
    const database = sqliteFile();
    const app = await bootApp({
      imports: [
        sqliteModule(database),
        ScheduleModule.forRoot(),
        BackJobModule.forRoot({ key: TEST_KEY, tableName: 'my_jobs' }),
      ],
      controllers: [HelloController],
    });
    try {
      const backjob = app.get(BackJobService);
      const id = await backjob.start('hello');
      await waitForJob(backjob, id);
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(database, { readonly: true });
      expect(
        db.prepare('SELECT status FROM my_jobs WHERE id = ?').get(id),
      ).toEqual({ status: JobStatus.Completed });
      db.close();
    } finally {
      await app.close();
    }
  });

  describe('refuses options that cannot work, at boot, with a sentence that says what to fix', () => {
    const cases: [
      string,
      BackJobModuleOptions & { useDb?: boolean },
      RegExp,
    ][] = [
      [
        'no store',
        { key: TEST_KEY, useDb: false, useCache: false },
        /nowhere to keep jobs.*useDb: true/,
      ],
      ['a short key', { key: 'too-short' }, /9 characters long.*at least 32/],
      [
        'errorTimeout 0',
        { key: TEST_KEY, errorTimeout: 0 },
        /errorTimeout must be a number greater than 0/,
      ],
      [
        'negative errorTimeout',
        { key: TEST_KEY, errorTimeout: -5 },
        /errorTimeout must be a number greater than 0/,
      ],
      [
        'negative backlogDays',
        { key: TEST_KEY, backlogDays: -1 },
        /backlogDays must be a number of 0 or more/,
      ],
      [
        'a baseUrl that is no URL',
        { key: TEST_KEY, baseUrl: 'localhost:3000' },
        /baseUrl "localhost:3000" is not an absolute http\(s\) URL/,
      ],
    ];
    it.each(cases)('%s', async (_name, options, message) => {
      const failure = createTestApp({
        controllers: [HelloController],
        backjob: options,
      });
      await expect(failure).rejects.toThrow(BackJobConfigurationError);
      await expect(failure).rejects.toThrow(message);
    });

    it('a missing key in production', async () => {
      const previous = process.env.NODE_ENV;
      process.env.NODE_ENV = 'production';
      try {
        await expect(
          createTestApp({
            controllers: [HelloController],
            backjob: { key: '' },
          }),
        ).rejects.toThrow(/no key while NODE_ENV is production/);
      } finally {
        process.env.NODE_ENV = previous;
      }
    });

    it('a missing ScheduleModule', async () => {
      @Module({
        imports: [
          sqliteModule(sqliteFile()),
          BackJobModule.forRoot({ key: TEST_KEY }),
        ],
        controllers: [HelloController],
      })
      class NoScheduleModule {}
      const app = await NestFactory.create(NoScheduleModule, {
        logger: false,
        abortOnError: false,
      });
      await expect(app.init()).rejects.toThrow(
        /needs ScheduleModule.forRoot\(\)/,
      );
      await app.close().catch(() => undefined);
    });
  });

  it('is global: any module can inject BackJobService', async () => {
    @Injectable()
    class Consumer {
      constructor(@Inject(BackJobService) readonly backjob: BackJobService) {}
    }
    @Module({ providers: [Consumer] })
    class FeatureModule {}
    const t = await createTestApp({
      controllers: [HelloController],
      imports: [{ module: FeatureModule }],
    });
    try {
      expect(t.app.get(Consumer).backjob).toBe(t.backjob);
    } finally {
      await t.close();
    }
  });
});
