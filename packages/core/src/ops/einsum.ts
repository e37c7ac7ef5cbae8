/**
 * Einstein summation (`torch.einsum`) for explicit (`'ij,jk->ik'`) and implicit (`'ij,jk'`)
 * equations over any number of operands, without ellipsis and without an index repeated
 * inside one operand (no diagonals). Operands are contracted left to right; each pairwise
 * contraction is one batched `matmul` (batch, free and contracted indices are permuted and
 * reshaped into `[batch, M, K] @ [batch, K, N]`), so no large outer product is materialised.
 * Built from differentiable ops, so gradients come for free.
 */
import { ShapeError } from '../errors.js';
import { tidy } from '../memory/scope.js';
import { formatShape } from '../shape.js';
import { backendOf } from '../tensor/make.js';
import type { Tensor } from '../tensor/tensor.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { expand, permute, reshape } from './view.js';

/** A tensor together with the index letter of each of its dims. */
interface Labeled {
  t: Tensor;
  labels: string[];
}

interface ParsedEquation {
  inputs: string[][];
  output: string[];
}

function parse(equation: string, count: number): ParsedEquation {
  const fail = (why: string): never => {
    throw new ShapeError(`einsum('${equation}'): ${why}`);
  };
  const eq = equation.replace(/\s+/g, '');
  if (eq.includes('.')) fail('ellipsis (...) is not supported; write every index explicitly');
  const arrow = eq.indexOf('->');
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const rhs = arrow >= 0 ? eq.slice(arrow + 2) : null;
  const terms = lhs.split(',');
  if (terms.length !== count) fail(`the equation has ${terms.length} operand(s) but ${count} tensor(s) were given`);
  const letter = /^[a-zA-Z]$/;
  const inputs = terms.map((term, i) => {
    const labels = [...term];
    for (const l of labels) if (!letter.test(l)) fail(`invalid character '${l}' in operand ${i}; indices are letters a-z, A-Z`);
    const repeated = labels.find((l, j) => labels.indexOf(l) !== j);
    if (repeated) fail(`index '${repeated}' repeats within operand ${i} ('${term}'); diagonals are not supported`);
    return labels;
  });
  let output: string[];
  if (rhs !== null) {
    output = [...rhs];
    for (const l of output) {
      if (!letter.test(l)) fail(`invalid character '${l}' in the output; indices are letters a-z, A-Z`);
      if (!inputs.some((labels) => labels.includes(l))) fail(`output index '${l}' does not appear in any operand`);
    }
    const repeated = output.find((l, j) => output.indexOf(l) !== j);
    if (repeated) fail(`output index '${repeated}' appears more than once`);
  } else {
    // Implicit mode: indices that appear exactly once, in alphabetical order (as NumPy/PyTorch).
    const counts = new Map<string, number>();
    for (const labels of inputs) for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    output = [...counts.entries()]
      .filter(([, c]) => c === 1)
      .map(([l]) => l)
      .sort();
  }
  return { inputs, output };
}

/** Sums away the dims whose labels are not in `keep`. */
function sumOut(x: Labeled, keep: ReadonlySet<string>): Labeled {
  const dims = x.labels.map((l, i) => (keep.has(l) ? -1 : i)).filter((i) => i >= 0);
  if (dims.length === 0) return x;
  return { t: sum(x.t, dims), labels: x.labels.filter((l) => keep.has(l)) };
}

/** Permutes `x` to `order` (a permutation of its labels) and expands each dim to `sizes`. */
function arrange(x: Labeled, order: readonly string[], sizes: ReadonlyMap<string, number>): Tensor {
  const p = permute(
    x.t,
    order.map((l) => x.labels.indexOf(l)),
  );
  return expand(
    p,
    order.map((l) => sizes.get(l) as number),
  );
}

/**
 * Contracts two labeled operands, keeping the labels in `keep`: result labels are
 * batch (in both, kept), then a's free labels, then b's free labels.
 */
function contract(a: Labeled, b: Labeled, keep: ReadonlySet<string>, sizes: ReadonlyMap<string, number>): Labeled {
  // Indices only one side has and nobody needs are summed first.
  const inB = new Set(b.labels);
  const inA = new Set(a.labels);
  const x = sumOut(a, new Set([...a.labels].filter((l) => keep.has(l) || inB.has(l))));
  const y = sumOut(b, new Set([...b.labels].filter((l) => keep.has(l) || inA.has(l))));
  const batch = x.labels.filter((l) => y.labels.includes(l) && keep.has(l));
  const contracted = x.labels.filter((l) => y.labels.includes(l) && !keep.has(l));
  const freeA = x.labels.filter((l) => !y.labels.includes(l));
  const freeB = y.labels.filter((l) => !x.labels.includes(l));
  const size = (ls: readonly string[]) => ls.reduce((n, l) => n * (sizes.get(l) as number), 1);
  const [bs, m, k, n] = [size(batch), size(freeA), size(contracted), size(freeB)];
  const left = reshape(arrange(x, [...batch, ...freeA, ...contracted], sizes), [bs, m, k]);
  const right = reshape(arrange(y, [...batch, ...contracted, ...freeB], sizes), [bs, k, n]);
  const labels = [...batch, ...freeA, ...freeB];
  return {
    t: reshape(
      matmul(left, right),
      labels.map((l) => sizes.get(l) as number),
    ),
    labels,
  };
}

/**
 * `torch.einsum`: e.g. `einsum('ij,jk->ik', a, b)` (matmul), `'bij,bjk->bik'` (batched),
 * `'bhqd,bhkd->bhqk'` (attention scores), `'i,i->'` (dot), `'ij->ji'` (transpose),
 * `'i,j->ij'` (outer), `'ij->'` (sum); implicit output (`'ij,jk'`) lists the indices seen once,
 * alphabetically. A dim of size 1 broadcasts against the same index elsewhere. Ellipsis and
 * repeated indices within one operand are not supported (a ShapeError naming the equation).
 * @param equation the subscripts, e.g. `'bij,bjk->bik'`
 * @param operands one float32 tensor per comma-separated term
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  if (operands.length === 0) throw new ShapeError(`einsum('${equation}'): at least one operand is required`);
  backendOf(...operands);
  const { inputs, output } = parse(equation, operands.length);
  const sizes = new Map<string, number>();
  inputs.forEach((labels, i) => {
    const t = operands[i];
    if (labels.length !== t.rank) {
      throw new ShapeError(
        `einsum('${equation}'): operand ${i} has ${labels.length} indices but shape ${formatShape(t.shape)} has ${t.rank} dims`,
      );
    }
    labels.forEach((l, d) => {
      const s = t.shape[d];
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, s);
      else if (s !== prev && s !== 1) {
        throw new ShapeError(
          `einsum('${equation}'): index '${l}' has size ${prev} in one operand and ${s} in operand ${i} (shape ${formatShape(t.shape)})`,
        );
      }
    });
  });
  return tidy(() => {
    let acc: Labeled = { t: operands[0], labels: inputs[0] };
    for (let i = 1; i < operands.length; i++) {
      // Keep what the output or any later operand still refers to.
      const keep = new Set([...output, ...inputs.slice(i + 1).flat()]);
      acc = contract(acc, { t: operands[i], labels: inputs[i] }, keep, sizes);
    }
    acc = sumOut(acc, new Set(output));
    return arrange(acc, output, sizes);
  });
}
