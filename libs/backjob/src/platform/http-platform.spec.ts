import type { HttpAdapterHost } from '@nestjs/core';
import { HttpPlatform } from './http-platform.js';

describe('HttpPlatform', () => {
  it('refuses to hand a request over in an app with no HTTP server, and says how to get one', () => {
    // What createApplicationContext() gives: an adapter host with no adapter.
    const platform = new HttpPlatform({
      httpAdapter: undefined,
    } as unknown as HttpAdapterHost);
    expect(() =>
      platform.serveInProcess({
        method: 'GET',
        url: '/reports',
        headers: {},
        secure: false,
        host: 'localhost',
        maxBodyBytes: 1024,
      }),
    ).toThrow(
      /the app has no HTTP server\. Start jobs in an app made with NestFactory\.create\(\), not createApplicationContext\(\), or set the baseUrl option/,
    );
  });
});
