/**
 * Python's `'{:.Nf}'` and `'{:.Ne}'` number formatting, digit for digit. PyTorch's tensor repr
 * is built from them, and JavaScript's `toFixed`/`toExponential` differ: they round exact ties
 * away from zero where Python rounds them to even (0.125 -> '0.13' vs '0.12'), switch to
 * exponents above 1e21, and write one-digit exponents ('1e+5' vs '1e+05'). So the digits come
 * from exact rational arithmetic on the double's bits.
 */

/** `|x| = m * 2^e` exactly, for finite x. */
function decompose(x: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = hi >>> 20;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { m: fraction, e: -1074 };
  return { m: fraction | (1n << 52n), e: biased - 1075 };
}

/** `m * 2^e * 10^k`, rounded to the nearest integer, ties to even (as Python's formatting). */
function roundScaled(m: bigint, e: number, k: number): bigint {
  let num = m;
  let den = 1n;
  if (e > 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  if (k > 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  const q = num / den;
  const twice = 2n * (num - q * den);
  if (twice > den || (twice === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function nonFinite(x: number): string | null {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  return null;
}

function sign(x: number): string {
  return x < 0 || Object.is(x, -0) ? '-' : '';
}

/** Python's `'{:.<digits>f}'.format(x)`. */
export function pyFixed(x: number, digits: number): string {
  const special = nonFinite(x);
  if (special !== null) return special;
  const { m, e } = decompose(x);
  const s = roundScaled(m, e, digits)
    .toString()
    .padStart(digits + 1, '0');
  const body = digits > 0 ? `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}` : s;
  return sign(x) + body;
}

/** Python's `'{:.<digits>e}'.format(x)`. */
export function pyExp(x: number, digits: number): string {
  const special = nonFinite(x);
  if (special !== null) return special;
  let exponent = 0;
  let mantissa = 0n;
  if (x !== 0) {
    const { m, e } = decompose(x);
    exponent = Math.floor(Math.log10(Math.abs(x)));
    const low = 10n ** BigInt(digits);
    // log10 can be off by one near powers of ten, and rounding can carry into a new digit.
    for (;;) {
      mantissa = roundScaled(m, e, digits - exponent);
      if (mantissa >= low * 10n) exponent++;
      else if (mantissa < low) exponent--;
      else break;
    }
  }
  const s = mantissa.toString().padStart(digits + 1, '0');
  const body = digits > 0 ? `${s[0]}.${s.slice(1)}` : s;
  const exp = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  return `${sign(x)}${body}e${exp}`;
}
