// Type probe (ESM consumer, node16 resolution → dist/index.d.ts): the chainable Tensor methods must be
// visible on the built package's types. Checked by `tsc -p types` in tools/check-bundle/main.mjs.
import { type Tensor, tensor, tidy } from '@ghostflow/core';
import '@ghostflow/backend-cpu';

const y: Tensor = tidy(() => tensor([1, 2, 3], { requiresGrad: true }).mul(2).add(1).tanh().sum());
y.backward();
const n: Promise<number> = y.item();
export { n };
