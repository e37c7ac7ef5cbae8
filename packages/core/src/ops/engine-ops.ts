/** Wires the op library into the autograd engine (which cannot import ops without a cycle). */
import { installEngineOps } from '../autograd/backward.js';
import { add } from './binary.js';
import { onesLike, zeros } from './creation.js';
import { clone, reshape } from './view.js';

installEngineOps({
  add,
  onesLike: (t) => onesLike(t),
  zerosOf: (like, shape) => zeros(shape, { device: like.device }),
  clone,
  alias: (t) => reshape(t, t.shape),
});
