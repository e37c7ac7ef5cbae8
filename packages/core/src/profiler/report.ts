/** The text table of a profile: one row per kernel, largest self time first. */
import type { KernelStat } from './profile.js';

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(2)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Formats per-kernel totals as an aligned table with each kernel's share of the profile's wall
 * time, and a last line splitting the total into time inside kernels and time outside them.
 */
export function formatKernelTable(kernels: readonly KernelStat[], totalMs: number, kernelMs: number, limit: number): string {
  const header = ['kernel', 'calls', 'self ms', 'self %', 'total ms', 'allocated'];
  const rows = kernels
    .slice(0, limit)
    .map((k) => [
      k.name,
      String(k.calls),
      k.selfMs.toFixed(3),
      totalMs > 0 ? `${((100 * k.selfMs) / totalMs).toFixed(1)}%` : '-',
      k.totalMs.toFixed(3),
      formatBytes(k.bytes),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const hidden = kernels.length - rows.length;
  const out = [line(header), ...rows.map(line)];
  if (hidden > 0) out.push(`(${hidden} more kernels)`);
  const outside = Math.max(0, totalMs - kernelMs);
  out.push(
    `total ${totalMs.toFixed(3)} ms: ${kernelMs.toFixed(3)} ms in kernels, ${outside.toFixed(3)} ms outside them (op logic, autograd, bookkeeping)`,
  );
  return out.join('\n');
}
