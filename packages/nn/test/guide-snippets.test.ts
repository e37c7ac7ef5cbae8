/**
 * Every ```ts block of docs/guide/*.md runs here, so the Sequence Models Guide's code works as
 * written. Blocks check their own results (they throw when a value is wrong). A block fenced as
 * ```ts no-run is shown only (for code that needs a browser, files or a GPU).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memory } from '@ghostflow/core';
import { afterAll, describe, expect, it } from 'vitest';
import '@ghostflow/backend-cpu';

const here = dirname(fileURLToPath(import.meta.url));
const guide = join(here, '../../../docs/guide');
const scratch = join(here, '.guide-snippets');

/** The runnable ```ts blocks of one markdown file, with the line each starts on. */
function snippets(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== '```ts') continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j]?.trim() !== '```') j++;
    out.push({ line: start + 1, code: lines.slice(start, j).join('\n') });
    i = j;
  }
  return out;
}

const files = readdirSync(guide).filter((f) => f.endsWith('.md'));
mkdirSync(scratch, { recursive: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('docs/guide code blocks', () => {
  it('the guide has runnable blocks', () => {
    const total = files.reduce((n, f) => n + snippets(readFileSync(join(guide, f), 'utf8')).length, 0);
    expect(total).toBeGreaterThanOrEqual(8);
  });
  for (const file of files) {
    for (const { line, code } of snippets(readFileSync(join(guide, file), 'utf8'))) {
      it(`${file}:${line}`, async () => {
        const path = join(scratch, `${file.replace(/\W/g, '_')}_${line}.ts`);
        // `export {}` makes it a module even without imports, so top-level await works.
        writeFileSync(path, `${code}\nexport {};\n`);
        const before = memory().buffers;
        await import(/* @vite-ignore */ path);
        // A guide example that leaks would teach a leak: every block frees what it made.
        expect(memory().buffers - before).toBe(0);
      }, 120_000); // the first block pays for loading the packages; the machine may be loaded
    }
  }
});
