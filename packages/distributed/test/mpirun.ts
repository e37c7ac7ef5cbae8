/**
 * Launches a script under `mpirun` as a child process with a hard time limit (the whole process
 * group is killed when it runs over, so no test can hang CI) and collects each rank's
 * result file (test/mpi/report.mjs).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ADDON = fileURLToPath(new URL('../build/Release/ghostflow_mpi.node', import.meta.url));
export const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Whether the machine can run the MPI tests (mpirun, the built addon and the built package). */
export function mpiReady(): { ok: boolean; why: string } {
  if (!existsSync(ADDON)) return { ok: false, why: `no addon at ${ADDON} (install openmpi-bin libopenmpi-dev, then build)` };
  if (!existsSync(DIST)) return { ok: false, why: `no build at ${DIST} (run the build first: the scripts import the built package)` };
  return { ok: true, why: '' };
}

export interface MpiRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
  timedOut: boolean;
  /** Each rank's reported result (test/mpi/report.mjs), by rank. */
  results: Map<number, Record<string, unknown>>;
}

export interface MpiRunOptions {
  /** Extra script arguments. */
  args?: string[];
  /** Force TCP between ranks (`--mca btl tcp,self`): the transport that crosses machines. */
  tcp?: boolean;
  /** Kill the whole run after this long. */
  limitMs?: number;
  env?: Record<string, string>;
  /** A command that mpirun runs under, e.g. `ip netns exec <ns>`. */
  prefix?: string[];
  /** More mpirun arguments (hostfile, MCA parameters). */
  launcherArgs?: string[];
}

/** Runs `node <script>` on `np` ranks. */
export function mpirun(np: number, script: string, options: MpiRunOptions = {}): Promise<MpiRun> {
  const args = ['--allow-run-as-root', '--oversubscribe', '-np', String(np)];
  if (options.tcp) args.push('--mca', 'btl', 'tcp,self');
  args.push(...(options.launcherArgs ?? []));
  args.push('node', fileURLToPath(new URL(`./mpi/${script}`, import.meta.url)), ...(options.args ?? []));
  const limitMs = options.limitMs ?? 90_000;
  const t0 = performance.now();
  const out = mkdtempSync(join(tmpdir(), 'ghostflow-mpi-'));
  return new Promise((resolve) => {
    const [cmd, ...pre] = [...(options.prefix ?? []), 'mpirun'];
    const child = spawn(cmd, [...pre, ...args], {
      cwd: PACKAGE_ROOT,
      detached: true,
      env: { ...process.env, GHOSTFLOW_CPU_THREADS: '1', GHOSTFLOW_TEST_OUT: out, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const results = new Map<number, Record<string, unknown>>();
      for (const file of readdirSync(out)) {
        const m = /^rank-(\d+)\.json$/.exec(file);
        if (m) results.set(Number(m[1]), JSON.parse(readFileSync(join(out, file), 'utf8')) as Record<string, unknown>);
      }
      rmSync(out, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - t0, timedOut, results });
    });
  });
}
