// One bench child: runs the scenarios the parent passes as JSON in argv[2],
// one after the other, and sends their samples back over IPC. A process per system and round, so
// that no system inherits another's heap, JIT state, sockets or
// AsyncLocalStorage hooks.
import 'reflect-metadata';
import type { Sample } from './figures.js';
import type { Run, ScenarioParams } from './plan.js';

/** What a child sends its parent. */
export type ChildMessage =
  { ok: true; samples: Sample[] } | { ok: false; error: string };

// Each scenario is imported only by the child that runs it: a BullMQ child
// does not load Nest, and no child pays for the others' imports.
async function runScenario(
  params: ScenarioParams,
  system: string,
): Promise<Sample[]> {
  switch (params.scenario) {
    case 'queue':
      return (await import('./scenarios/queue.scenario.js')).queueScenario(
        params,
        system,
      );
    case 'route':
      return (await import('./scenarios/route.scenario.js')).routeScenario(
        params,
      );
    case 'update':
      return (await import('./scenarios/update.scenario.js')).updateScenario(
        params,
      );
    case 'crossInstance':
      return (
        await import('./scenarios/cross-instance.scenario.js')
      ).crossInstanceScenario(params);
    case 'memory':
      return (await import('./scenarios/memory.scenario.js')).memoryScenario(
        params,
      );
    case 'burst':
      return (await import('./scenarios/burst.scenario.js')).burstScenario(
        params,
      );
    case 'watch':
      return (await import('./scenarios/watch.scenario.js')).watchScenario(
        params,
      );
  }
}

const run = JSON.parse(process.argv[2]) as Run;
let message: ChildMessage;
try {
  const samples: Sample[] = [];
  for (const params of run.scenarios)
    samples.push(...(await runScenario(params, run.system)));
  message = { ok: true, samples };
} catch (error) {
  message = {
    ok: false,
    error:
      error instanceof Error ? (error.stack ?? error.message) : String(error),
  };
}
// Exits once the message is out: a pool or timer the scenario left open
// must not keep the run waiting (the parent would time out).
process.send!(message, () => process.exit(message.ok ? 0 : 1));
