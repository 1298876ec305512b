// A server for the plain-route figure: the same app with or without
// BackJobModule (argv[2] = 'express' | 'fastify', argv[3] = 'with' |
// 'without'), in a process of its own — once an AsyncLocalStorage is in
// use, its hooks slow every request of the process. The parent starts the
// four before the first round and stops them after the last: booting them
// in every round cost more than the rest of the route figure. Idle between
// the rounds' route turns. Sends its URL over IPC, closes on 'stop'.
import 'reflect-metadata';
import { Controller, Get } from '@nestjs/common';
import { createBenchApp, type Platform } from './apps/bench-app.js';
import { prepareStore } from './apps/bench-store.js';

@Controller()
class HelloController {
  @Get('hello')
  hello(): string {
    return 'hello';
  }

  /** The process's CPU time so far (µs), read before and after each turn. */
  @Get('cpu')
  cpu(): string {
    const { user, system } = process.cpuUsage();
    return String(user + system);
  }
}

const store = await prepareStore('sqlite');
try {
  const { app, url } = await createBenchApp({
    store,
    platform: process.argv[2] as Platform,
    controllers: [HelloController],
    withBackJob: process.argv[3] === 'with',
  });
  process.once('message', async () => {
    await app.close();
    await store.remove();
    process.exit(0);
  });
  process.send!({ url: `${url}/hello`, cpuUrl: `${url}/cpu` });
} catch (error) {
  await store.remove();
  throw error;
}
