/**
 * Process-wide options for printing tensors, PyTorch's `torch.set_printoptions`.
 */
import { GhostFlowError } from '../errors.js';
import { sharedSlot } from '../global-state.js';

/** How `toString()`, `format()`, `print()` and `console.log` render tensor values. */
export interface PrintOptions {
  /** Digits after the decimal point (default 4). */
  precision: number;
  /** Above this many elements the printout is summarised with `...` (default 1000). */
  threshold: number;
  /** Items kept at the start and end of each summarised dimension (default 3). */
  edgeitems: number;
  /** Characters per line before wrapping (default 80). */
  linewidth: number;
  /** `true` forces scientific notation, `false` forbids it, `null` picks it as PyTorch does (default). */
  sciMode: boolean | null;
}

/** PyTorch's named presets (`torch.set_printoptions(profile=...)`). */
export type PrintProfile = 'default' | 'short' | 'full';

const PROFILES: Record<PrintProfile, Omit<PrintOptions, 'sciMode'>> = {
  default: { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80 },
  short: { precision: 2, threshold: 1000, edgeitems: 2, linewidth: 80 },
  full: { precision: 4, threshold: Number.POSITIVE_INFINITY, edgeitems: 3, linewidth: 80 },
};

const current = sharedSlot<PrintOptions>('printOptions', () => ({ ...PROFILES.default, sciMode: null }));

/** The options in effect now (a copy). */
export function getPrintOptions(): PrintOptions {
  return { ...current };
}

/**
 * Changes how tensors print, like `torch.set_printoptions`. A `profile` first resets the numeric
 * options to that preset; the other fields then override it. Fields left out keep their value.
 *
 * @example
 * ```ts
 * import { setPrintOptions, tensor } from '@ghostflow/core';
 * setPrintOptions({ precision: 2 });
 * console.log(String(tensor([1 / 3, 2 / 3]))); // tensor([0.33, 0.67])
 * setPrintOptions({ profile: 'default' });
 * ```
 */
export function setPrintOptions(options: Partial<PrintOptions> & { profile?: PrintProfile }): void {
  const { profile, ...rest } = options;
  if (profile !== undefined) {
    if (!(profile in PROFILES))
      throw new GhostFlowError(`setPrintOptions: profile must be 'default', 'short' or 'full', got '${String(profile)}'`);
    Object.assign(current, PROFILES[profile]);
    current.sciMode = null;
  }
  for (const key of ['precision', 'edgeitems', 'linewidth'] as const) {
    const value = rest[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0)
      throw new GhostFlowError(`setPrintOptions: ${key} must be a non-negative integer, got ${value}`);
    current[key] = value;
  }
  if (rest.threshold !== undefined) {
    const t = rest.threshold;
    if (!(t === Number.POSITIVE_INFINITY || (Number.isInteger(t) && t >= 0)))
      throw new GhostFlowError(`setPrintOptions: threshold must be a non-negative integer or Infinity, got ${t}`);
    current.threshold = t;
  }
  if (rest.sciMode !== undefined) {
    if (rest.sciMode !== null && typeof rest.sciMode !== 'boolean')
      throw new GhostFlowError(`setPrintOptions: sciMode must be true, false or null, got ${String(rest.sciMode)}`);
    current.sciMode = rest.sciMode;
  }
}
