import { fork } from 'node:child_process';
import type { ChildMessage } from './child.js';
import type { Sample } from './figures.js';
import type { Run } from './plan.js';

const childFile = new URL('./child.js', import.meta.url);

/** What a run is called in messages: its system and scenarios. */
export function runName(run: Run): string {
  return `${run.system} (${run.scenarios.map((s) => s.scenario).join(', ')})`;
}

/**
 * Runs `run` in a new child process (child.ts) and resolves with its
 * samples; rejects with the child's error, or after `timeoutMs` (the child
 * is killed: a hung child must not hang the bench).
 */
export function runChild(
  run: Run,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const proc = fork(childFile, [JSON.stringify(run)], {
      execArgv: ['--expose-gc'],
      env,
    });
    let message: ChildMessage | undefined;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(
        new Error(`${runName(run)} took longer than ${timeoutMs / 1000} s.`),
      );
    }, timeoutMs);
    proc.on('message', (m: ChildMessage) => (message = m));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (message?.ok) resolve(message.samples);
      else
        reject(
          new Error(
            `${runName(run)} failed${code ? ` with exit code ${code}` : ''}:\n${message?.error ?? 'no result'}`,
          ),
        );
    });
  });
}
