import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MetricsLogger,
  ProgressBar,
  type ProgressState,
  TFEVENTS_FILE_VERSION,
  crc32c,
  encodeEvent,
  formatDuration,
  frameRecord,
  jsonLinesSink,
  maskedCrc32c,
  memorySink,
} from '@ghostflow/nn';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileLogger } from '../src/node.js';

const READER = new URL('../../../tools/tfevents/read_tfevents.py', import.meta.url).pathname;
const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['--version']).status === 0);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gf-tfevents-'));
  dirs.push(d);
  return d;
};
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('crc32c', () => {
  it('matches the published check values (RFC 3720 B.4 and "123456789")', () => {
    expect(crc32c(utf8('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('masks as TFRecord does: rotate right 15, add 0xa282ead8', () => {
    const crc = crc32c(utf8('123456789'));
    expect(maskedCrc32c(utf8('123456789'))).toBe((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
    expect(maskedCrc32c(new Uint8Array(0))).toBe(0xa282ead8);
  });
});

describe('tfevents encoding', () => {
  it('encodes the file-version event field by field', () => {
    const bytes = encodeEvent({ wallTime: 1.5, fileVersion: TFEVENTS_FILE_VERSION });
    // 0x09: field 1 fixed64 (wall_time), then 1.5 as a little-endian double; 0x1a: field 3 bytes.
    expect([...bytes]).toEqual([0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x1a, 13, ...utf8('brain.Event:2')]);
  });

  it('encodes scalars as Summary.Value simple_value with a varint step', () => {
    const bytes = encodeEvent({ wallTime: 0, step: 300, scalars: { a: 1 } });
    // step 300 = varint ac 02; summary (field 5) holds one value (field 1): tag 'a' + float 1.0.
    expect([...bytes]).toEqual([0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0xac, 0x02, 0x2a, 10, 0x0a, 8, 0x0a, 1, 0x61, 0x15, 0, 0, 0x80, 0x3f]);
  });

  it('frames a record: length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = utf8('hello');
    const rec = frameRecord(data);
    const view = new DataView(rec.buffer);
    expect(rec.length).toBe(8 + 4 + 5 + 4);
    expect(view.getBigUint64(0, true)).toBe(5n);
    expect(view.getUint32(8, true)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect([...rec.subarray(12, 17)]).toEqual([...data]);
    expect(view.getUint32(17, true)).toBe(maskedCrc32c(data));
  });

  it('rejects negative or fractional steps', () => {
    expect(() => encodeEvent({ wallTime: 0, step: -1, scalars: {} })).toThrow(/non-negative safe integer, got -1/);
    expect(() => encodeEvent({ wallTime: 0, step: 1.5, scalars: {} })).toThrow(/got 1.5/);
  });
});

describe.skipIf(!python)('event files read back by an independent Python reader (tools/tfevents)', () => {
  const read = (file: string) =>
    execFileSync(python as string, [READER, file], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l.replace(/\bNaN\b/g, '"NaN"')) as Record<string, unknown>);

  it('the reader passes its own CRC-32C self-test', () => {
    expect(execFileSync(python as string, [READER, '--self-test'], { encoding: 'utf8' }).trim()).toBe('crc32c ok');
  });

  it('writes metrics.jsonl and an event file TensorBoard can read', () => {
    const dir = tempDir();
    let clock = 1_700_000_000.25;
    const logger = createFileLogger(dir, { clock: () => clock++ });
    logger.log(0, { loss: 2.5 });
    logger.log(1, { loss: 0.1, 'lr/group0': 0.003 });
    logger.log(123456789, { loss: Number.NaN });
    logger.close();
    const names = readdirSync(dir).sort();
    expect(names[0]).toMatch(/^events\.out\.tfevents\.\d+\..+\.\d+\.0$/);
    expect(names[1]).toBe('metrics.jsonl');
    const events = read(join(dir, names[0]));
    expect(events).toEqual([
      { wall_time: 1_700_000_000.25, step: 0, file_version: 'brain.Event:2' },
      { wall_time: 1_700_000_000.25, step: 0, scalars: { loss: 2.5 } },
      { wall_time: 1_700_000_001.25, step: 1, scalars: { loss: Math.fround(0.1), 'lr/group0': Math.fround(0.003) } },
      { wall_time: 1_700_000_002.25, step: 123456789, scalars: { loss: 'NaN' } },
    ]);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { step: 0, wall_time: 1_700_000_000.25, loss: 2.5 },
      { step: 1, wall_time: 1_700_000_001.25, loss: 0.1, 'lr/group0': 0.003 },
      { step: 123456789, wall_time: 1_700_000_002.25, loss: 'NaN' },
    ]);
    expect(() => logger.log(3, { loss: 1 })).toThrow(/closed/);
  });

  it('the reader rejects a file with one flipped byte (so the check above can fail)', () => {
    const dir = tempDir();
    const logger = createFileLogger(dir, { jsonl: false, clock: () => 5 });
    logger.log(1, { x: 1 });
    logger.close();
    const [file] = logger.files;
    const bytes = readFileSync(file);
    bytes[bytes.length - 6] ^= 1;
    writeFileSync(file, bytes);
    const r = spawnSync(python as string, [READER, file], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad data CRC/);
  });
});

describe('MetricsLogger', () => {
  it('fans records out to every sink and validates input', () => {
    const mem = memorySink();
    const lines: string[] = [];
    const logger = new MetricsLogger([mem, jsonLinesSink((l) => lines.push(l))], { clock: () => 10 });
    logger.log(3, { loss: 1.25, acc: Number.POSITIVE_INFINITY });
    expect(mem.records).toEqual([{ step: 3, wallTime: 10, values: { loss: 1.25, acc: Number.POSITIVE_INFINITY } }]);
    expect(lines).toEqual(['{"step":3,"wall_time":10,"loss":1.25,"acc":"Infinity"}\n']);
    expect(() => logger.log(-1, {})).toThrow(/non-negative integer, got -1/);
    expect(() => logger.log(1, { loss: '1' as unknown as number })).toThrow(/'loss' must be a number, got string/);
  });
});

describe('ProgressBar', () => {
  const clocked = () => {
    let t = 0;
    return {
      now: () => t,
      advance: (ms: number) => {
        t += ms;
      },
    };
  };

  it('is silent in CI unless a mode is asked for', () => {
    const out: string[] = [];
    const silent = new ProgressBar({ total: 10, write: (s) => out.push(s), isTTY: true, env: { CI: 'true' } });
    expect(silent.resolvedMode).toBe('silent');
    silent.update(5, { loss: 1 });
    silent.close();
    expect(out).toEqual([]);
    const asked = new ProgressBar({ total: 10, write: (s) => out.push(s), mode: 'lines', env: { CI: 'true' } });
    asked.close();
    expect(out.length).toBe(1);
    expect(new ProgressBar({ write: () => {}, isTTY: true, env: { CI: 'false' } }).resolvedMode).toBe('bar');
    expect(new ProgressBar({ write: () => {}, env: {} }).resolvedMode).toBe('lines');
  });

  it('draws a live bar with step/s, ETA and the last loss, redrawn in place', () => {
    const c = clocked();
    const out: string[] = [];
    const bar = new ProgressBar({ total: 100, label: 'train', write: (s) => out.push(s), isTTY: true, env: {}, now: c.now, barWidth: 10 });
    c.advance(2000);
    bar.update(25, { loss: 0.5 });
    c.advance(50);
    bar.update(26, { loss: 0.4 }); // within redrawMs: not drawn
    c.advance(1950);
    bar.update(50, { loss: 0.25 });
    bar.close();
    expect(out).toEqual([
      '\rtrain  25%|███       | 25/100 [00:02<00:06, 12.5 step/s, loss=0.5000]',
      '\rtrain  50%|█████     | 50/100 [00:04<00:04, 12.5 step/s, loss=0.2500]',
      '\rtrain  50%|█████     | 50/100 [00:04<00:04, 12.5 step/s, loss=0.2500]',
      '\n',
    ]);
  });

  it('writes plain lines at each tenth of the total when piped', () => {
    const c = clocked();
    const out: string[] = [];
    const bar = new ProgressBar({ total: 20, write: (s) => out.push(s), env: {}, now: c.now });
    for (let i = 1; i <= 20; i++) {
      c.advance(100);
      bar.update(i, { loss: 1 / i });
    }
    bar.close();
    expect(out.length).toBe(11);
    expect(out[0]).toBe(' 10% 2/20 [00:00<00:02, 10.0 step/s, loss=0.5000]\n');
    expect(out[10]).toBe('100% 20/20 [00:02<00:00, 10.0 step/s, loss=0.0500]\n');
  });

  it('hands every state to onUpdate (browsers), even when silent', () => {
    const c = clocked();
    const states: ProgressState[] = [];
    const bar = new ProgressBar({ total: 4, mode: 'silent', onUpdate: (s) => states.push(s), now: c.now });
    c.advance(1000);
    bar.update();
    bar.update(undefined, { loss: 3 });
    bar.close();
    expect(states.map((s) => [s.step, s.etaMs, s.done, s.metrics.loss])).toEqual([
      [1, 3000, false, undefined],
      [2, 1000, false, 3],
      [2, 1000, true, 3],
    ]);
    expect(states[1].stepsPerSecond).toBe(2);
  });

  it('formats durations as mm:ss and h:mm:ss', () => {
    expect(formatDuration(0)).toBe('00:00');
    expect(formatDuration(61_400)).toBe('01:01');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});
