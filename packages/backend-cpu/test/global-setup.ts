/**
 * Generates src/wasm/generated/kernels-wasm.ts (not in git) before any test file loads, so
 * a bare `npx vitest run` works on a fresh clone too. A no-op when it is up to date.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build-wasm.mjs', import.meta.url))], { stdio: 'inherit' });
}
