/** The kernel profiler: {@link profile} and its report types. */
export { profile } from './profile.js';
export type { KernelEvent, KernelStat, ProfileReport, ProfileOptions } from './profile.js';
export type { ChromeTrace, ChromeTraceEvent } from './chrome-trace.js';
