import { Controller, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { BackJobService, JobStatus } from 'nestjs-backjob';
import { RecordingLogger } from './fixtures/boot.js';
import { EchoController } from './fixtures/echo.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

/** Starts a job after app code put values on the request that no header can carry. */
@Controller('tampered')
class TamperedController {
  constructor(private readonly backjob: BackJobService) {}

  @Post()
  async start(@Req() req: Request) {
    req.headers.cookie = 'sid=1\r\nX-Injected: 1';
    req.headers['x-custom'] = 'signed ✓';
    return { id: await this.backjob.start('echo') };
  }
}

describe('forwarded headers are checked as they are picked', () => {
  let t: TestApp;
  const logger = new RecordingLogger();
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [EchoController, TamperedController],
      backjob: { forwardHeaders: ['cookie', 'x-csrf-token', 'x-custom'] },
      logger,
    });
  });
  afterAll(() => t.close());

  it('drops a value with CR/LF or beyond latin1, warning with its name, and runs the job without it', async () => {
    const response = await fetch(`${t.url}/tampered`, {
      method: 'POST',
      headers: { 'x-csrf-token': 'csrf-1' },
    });
    const { id } = (await response.json()) as { id: string };
    const status = await waitForJob(t.backjob, id);
    expect(status.status, status.statusText).toBe(JobStatus.Completed);
    const echo = JSON.parse(status.statusText) as {
      headers: Record<string, string | null>;
    };
    expect(echo.headers).toMatchObject({
      cookie: null,
      'x-custom': null,
      'x-csrf-token': 'csrf-1',
    });
    const warnings = logger.warnings.join('\n');
    expect(warnings).toContain("did not forward the caller's cookie header");
    expect(warnings).toContain("did not forward the caller's x-custom header");
    expect(warnings).not.toContain('sid=1');
  });
});
