/**
 * GhostFlow of another commit as a bench engine (for `main.mjs --baseline <ref>`): a child process
 * that loads the BUILT packages of the repository at ROOT (a temporary git worktree of that commit)
 * and runs the same workloads as main.mjs (ghostflow-workloads.mjs), driven over JSON lines like
 * torch_bench.py: {"op":"setup","spec":{...},"warmup":n,"warmupMs":ms,"warmupMaxRuns":n} -> {"ok":true}, {"op":"run"} -> {"ms":t},
 * {"op":"teardown"}, {"op":"quit"}. A separate process keeps the two copies of @ghostflow/core apart
 * (one process shares one backend registry between copies).
 *
 *   node tools/bench/ghostflow-serve.mjs ROOT THREADS
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { ghostflowMaker } from './ghostflow-workloads.mjs';

const [root, threads = '2'] = process.argv.slice(2);
process.env.GHOSTFLOW_CPU_THREADS ??= threads;

/** The ESM entry of a workspace package of ROOT, from its package.json `exports`. */
async function load(pkg) {
  const manifest = JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8'));
  const entry = manifest.exports?.['.']?.import;
  const file = typeof entry === 'string' ? entry : (entry?.default ?? manifest.module ?? manifest.main);
  return import(pathToFileURL(join(root, 'packages', pkg, file)).href);
}

const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
let runner = null;
try {
  const core = await load('core');
  const cpu = await load('backend-cpu');
  const nn = await load('nn');
  await core.setBackend('cpu');
  if (typeof cpu.setCpuThreads === 'function') await cpu.setCpuThreads(Number(threads));
  const backend = core.getBackend();
  await backend.whenThreadsReady?.();
  const make = ghostflowMaker(core, nn, { device: 'cpu', backend, asyncRead: false });
  send({ ready: true, version: cpu.VERSION ?? '', path: backend.info?.path ?? null, threads: backend.info?.threads ?? null });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    try {
      if (msg.op === 'setup') {
        const rssBefore = process.memoryUsage().rss;
        runner = await make(msg.spec);
        if (runner.na) {
          send({ na: runner.na });
          runner = null;
          continue;
        }
        // At least `warmup` runs and `warmupMs` of them (main.mjs's warm-up rule).
        const w0 = performance.now();
        for (let i = 0; i < (msg.warmup ?? 1) || (performance.now() - w0 < (msg.warmupMs ?? 0) && i < (msg.warmupMaxRuns ?? 200)); i++)
          await runner.run();
        send({ ok: true, rssDeltaBytes: process.memoryUsage().rss - rssBefore });
      } else if (msg.op === 'run') {
        const start = performance.now();
        await runner.run();
        send({ ms: performance.now() - start });
      } else if (msg.op === 'teardown') {
        await runner?.dispose();
        runner = null;
        send({ ok: true });
      } else if (msg.op === 'quit') break;
      else send({ error: `unknown op ${msg.op}` });
    } catch (e) {
      send({ error: `${e.name}: ${e.message}` });
    }
  }
} catch (e) {
  send({ ready: false, error: `${e.name}: ${e.message}` });
}
process.exit(0);
