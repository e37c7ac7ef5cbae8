/** Every suite of the kit, in the order they run. */
import type { SuiteContext } from '../context.js';
import { autogradSuite } from './autograd.js';
import { badInputsSuite } from './bad-inputs.js';
import { errorsSuite } from './errors.js';
import { inplaceSuite } from './inplace.js';
import { kernelsSuite } from './kernels.js';
import { leakCensusSuite } from './leak-census.js';
import { memorySuite } from './memory.js';
import { opsBinarySuite } from './ops-binary.js';
import { opsCreationSuite } from './ops-creation.js';
import { opsIndexingSuite } from './ops-indexing.js';
import { opsJoinSuite } from './ops-join.js';
import { opsMatmulSuite } from './ops-matmul.js';
import { opsMiscSuite } from './ops-misc.js';
import { opsNormSuite } from './ops-norm.js';
import { opsReduceSuite } from './ops-reduce.js';
import { opsSelectSuite } from './ops-select.js';
import { opsSortSuite } from './ops-sort.js';
import { opsUnarySuite } from './ops-unary.js';
import { opsViewSuite } from './ops-view.js';
import { torchFixturesSuite } from './torch-fixtures.js';

/** A named suite: registers vitest `describe`/`it` blocks for one area. */
export interface Suite {
  /** Short name, usable in `only`/`skip` options. */
  name: string;
  /** Registers the tests. */
  register(ctx: SuiteContext): void;
}

/** All suites. */
export const SUITES: readonly Suite[] = [
  { name: 'kernels', register: kernelsSuite },
  { name: 'ops-creation', register: opsCreationSuite },
  { name: 'ops-unary', register: opsUnarySuite },
  { name: 'ops-binary', register: opsBinarySuite },
  { name: 'ops-select', register: opsSelectSuite },
  { name: 'ops-reduce', register: opsReduceSuite },
  { name: 'ops-matmul', register: opsMatmulSuite },
  { name: 'ops-norm', register: opsNormSuite },
  { name: 'ops-view', register: opsViewSuite },
  { name: 'ops-join', register: opsJoinSuite },
  { name: 'ops-indexing', register: opsIndexingSuite },
  { name: 'ops-misc', register: opsMiscSuite },
  { name: 'ops-sort', register: opsSortSuite },
  { name: 'autograd', register: autogradSuite },
  { name: 'inplace', register: inplaceSuite },
  { name: 'memory', register: memorySuite },
  { name: 'errors', register: errorsSuite },
  { name: 'bad-inputs', register: badInputsSuite },
  { name: 'torch-fixtures', register: torchFixturesSuite },
  { name: 'leak-census', register: leakCensusSuite },
];
