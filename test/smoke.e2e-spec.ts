import { Controller, Get } from '@nestjs/common';
import { BackgroundWorker, BackJobService, JobStatus } from 'nestjs-backjob';
import { createTestApp, waitForJob, type TestApp } from './fixtures/test-app.js';

@Controller('work')
class WorkController {
  constructor(private readonly backjob: BackJobService) {}

  @Get('long')
  @BackgroundWorker()
  async long() {
    this.backjob.update(20);
    this.backjob.write('hello ');
    await new Promise((r) => setTimeout(r, 50));
    this.backjob.update(60);
    return 'world';
  }
}

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [WorkController] });
  });
  afterAll(() => t.close());

  it('runs a job to completion', async () => {
    const id = await t.backjob.start('work/long');
    const status = await waitForJob(t.backjob, id);
    expect(status).toMatchObject({ status: JobStatus.Completed, progress: 100, statusText: 'hello world' });
  });
});
