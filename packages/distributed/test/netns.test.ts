/**
 * Two hosts on one machine: two network namespaces joined by a veth pair, each namespace named
 * after its own address (10.231.X.1 and 10.231.X.2), so mpirun, started in the first, sees the
 * first "host" as local and starts the second through test/netns-agent.sh (`ip netns exec`) as
 * its remote shell. Each rank sees only its namespace's loopback and veth, so every byte between
 * them crosses the veth over TCP, as between two machines. Needs root (CAP_NET_ADMIN); skipped,
 * saying why, where namespaces cannot be made.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { mpiReady, mpirun } from './mpirun.js';

const subnet = `10.231.${(process.pid % 250) + 1}`;
const hostA = `${subnet}.1`;
const hostB = `${subnet}.2`;
const vethA = `gfd${process.pid % 100000}a`;
const vethB = `gfd${process.pid % 100000}b`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Makes the two namespaces; returns why not when it cannot. */
function setUp(): string {
  if (!mpiReady().ok) return mpiReady().why;
  try {
    ip('netns', 'add', hostA);
  } catch (e) {
    return `cannot create network namespaces here (${(e as Error).message.split('\n')[0]})`;
  }
  ip('netns', 'add', hostB);
  ip('link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB);
  ip('link', 'set', vethA, 'netns', hostA);
  ip('link', 'set', vethB, 'netns', hostB);
  ip('-n', hostA, 'addr', 'add', `${hostA}/24`, 'dev', vethA);
  ip('-n', hostB, 'addr', 'add', `${hostB}/24`, 'dev', vethB);
  for (const [ns, dev] of [
    [hostA, vethA],
    [hostB, vethB],
  ]) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  return '';
}

const why = setUp();
const dir = mkdtempSync(join(tmpdir(), 'ghostflow-netns-'));
const hostfile = join(dir, 'hosts');
writeFileSync(hostfile, `${hostA} slots=1\n${hostB} slots=1\n`);

afterAll(() => {
  for (const ns of [hostA, hostB]) {
    try {
      ip('netns', 'del', ns); // deletes its end of the veth, and with it the pair
    } catch {
      // never created
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(why !== '')('two hosts made of network namespaces (TCP over a veth pair)', () => {
  it('collectives by value across the two namespaces', async () => {
    const run = await mpirun(2, 'collectives.mjs', {
      limitMs: 120_000,
      prefix: ['ip', 'netns', 'exec', hostA],
      launcherArgs: [
        '--hostfile',
        hostfile,
        '--mca',
        'plm_rsh_agent',
        fileURLToPath(new URL('./netns-agent.sh', import.meta.url)),
        '--mca',
        'btl',
        'tcp,self',
        '--mca',
        'btl_tcp_if_include',
        `${subnet}.0/24`,
        '--mca',
        'oob_tcp_if_include',
        `${subnet}.0/24`,
      ],
    });
    expect(run.timedOut, run.stderr).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    expect([...run.results.keys()].sort()).toEqual([0, 1]);
    for (const res of run.results.values()) {
      expect(res.failures).toEqual([]);
      expect(res.checks).toBe(223 + 18 * 2);
    }
    // each rank ran in its own namespace and saw only its own interfaces
    expect(run.results.get(0)?.interfaces).toEqual([vethA, 'lo'].sort());
    expect(run.results.get(1)?.interfaces).toEqual([vethB, 'lo'].sort());
  }, 150_000);
});

if (why !== '') {
  describe('two hosts made of network namespaces (skipped)', () => {
    it.skip(`not possible here: ${why}`, () => {});
  });
}
