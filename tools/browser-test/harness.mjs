/**
 * What every package's browser tests (test-browser/ in backend-cpu, backend-webgpu and nn) share:
 * the system's Chromium and when to skip without it, Vite dev servers that serve the packages'
 * TypeScript sources (no build), and the browser launch.
 *
 * The packages pass in their own `vite` and `playwright-core` modules (their devDependencies):
 * this file lives outside every package and resolves nothing itself.
 *
 * ```js
 * import { chromium } from 'playwright-core';
 * import * as vite from 'vite';
 * import { browserHarness } from '../../../tools/browser-test/harness.mjs';
 * const h = browserHarness({ vite, chromium });
 * ```
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = new URL('../../', import.meta.url);

/** The browser the tests drive: Debian's chromium package, or $CHROMIUM. Never a downloaded browser. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Why the browser tests skip, or false. Off CI, a machine without Chromium skips them and says
 * why; on CI (`CI` set, where .ci/run installs chromium) they never skip, so a missing browser
 * fails the run.
 */
export const SKIP =
  !existsSync(CHROMIUM) && !process.env.CI ? `no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)` : false;

/** Flags for a headless Chromium run as root in a container without a GPU. */
export const BASE_ARGS = ['--no-sandbox', '--disable-dev-shm-usage'];

/**
 * Vite aliases from package specifiers to the workspace's TypeScript sources, e.g.
 * `{ '@ghostflow/nn/browser': 'nn/src/browser.ts', '@ghostflow/core': 'core/src/index.ts' }`
 * (paths under packages/). Longer specifiers come first: an alias also matches as a prefix.
 */
export function sourceAlias(entries) {
  return Object.entries(entries)
    .sort(([a], [b]) => b.length - a.length)
    .map(([find, path]) => ({ find, replacement: fileURLToPath(new URL(`packages/${path}`, ROOT)) }));
}

/** The usual alias set: `@ghostflow/<name>` to packages/<name>/src/index.ts for each name. */
export function packageAlias(names) {
  return sourceAlias(Object.fromEntries(names.map((p) => [`@ghostflow/${p}`, `${p}/src/index.ts`])));
}

/**
 * Dev servers and a browser for one test file.
 * @param {{ vite: typeof import('vite'), chromium: import('playwright-core').BrowserType }} deps
 */
export function browserHarness({ vite, chromium }) {
  const servers = [];
  let browser = null;
  return {
    /**
     * A Vite dev server on http://127.0.0.1 (a secure context, which WebGPU needs) on a free
     * port, without HMR or dependency pre-bundling; `config` adds to or overrides that.
     * Resolves with its URL. Closed by {@link close}.
     */
    async serve(config) {
      const server = await vite.createServer({
        configFile: false,
        logLevel: 'warn',
        clearScreen: false,
        optimizeDeps: { noDiscovery: true, include: [] },
        ...config,
        server: { host: '127.0.0.1', port: 0, hmr: false, ...config.server },
      });
      await server.listen();
      servers.push(server);
      return server.resolvedUrls.local[0];
    },
    /** Launches headless Chromium ({@link CHROMIUM}) with `args` (default {@link BASE_ARGS}). */
    async launch(args = BASE_ARGS) {
      if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (Debian), or set CHROMIUM`);
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
      return browser;
    },
    /** Closes the browser and every server this harness started. */
    async close() {
      await browser?.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
