import { describe, expect, it } from 'vitest';
import { runConformance } from '../src/index.js';

describe('runConformance options', () => {
  it('refuses a leak census too short to show a per-step leak', () => {
    expect(() => runConformance({ backend: 'cpu', leakCensusSteps: 2 })).toThrow('leakCensusSteps must be an integer >= 3, got 2');
    expect(() => runConformance({ backend: 'cpu', leakCensusSteps: 4.5 })).toThrow('got 4.5');
  });
});
