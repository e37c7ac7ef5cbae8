/**
 * WGSL float32 math shared by the elementwise and fused shaders.
 *
 * GPU builtins are not good enough for PyTorch-exact results: WGSL `min`/`max` do not
 * propagate NaN, `exp`/`sin`/`tanh` have loose precision bounds (sin: absolute 2^-11),
 * `pow` is undefined for negative bases and drivers may assume NaN/inf never occur. So the
 * special values are tested on the bit pattern and the transcendental functions are written
 * out (range reduction + polynomials) to a few float32 ulp, matching backend-cpu's float64
 * reference within the conformance tolerances.
 *
 * NaN and infinity cannot be WGSL constant expressions, so they come from private variables
 * (runtime values the compiler may not fold).
 */
export const MATH_WGSL = /* wgsl */ `
var<private> NAN_BITS: u32 = 0x7fc00000u;
var<private> INF_BITS: u32 = 0x7f800000u;
fn nanf() -> f32 { return bitcast<f32>(NAN_BITS); }
fn inff() -> f32 { return bitcast<f32>(INF_BITS); }
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn is_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn sign_bit(x: f32) -> bool { return (bitcast<u32>(x) & 0x80000000u) != 0u; }
fn with_sign(mag: f32, s: f32) -> f32 {
  return bitcast<f32>((bitcast<u32>(mag) & 0x7fffffffu) | (bitcast<u32>(s) & 0x80000000u));
}
fn fneg(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) ^ 0x80000000u); }
fn fabs(x: f32) -> f32 { return bitcast<f32>(bitcast<u32>(x) & 0x7fffffffu); }
fn fmaxn(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nanf(); }
  return select(b, a, a > b);
}
fn fminn(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nanf(); }
  return select(b, a, a < b);
}
fn frecip(x: f32) -> f32 {
  if (x == 0.0) { return with_sign(inff(), x); }
  return 1.0 / x;
}
fn fdiv(a: f32, b: f32) -> f32 {
  if (b == 0.0) {
    if (a == 0.0 || is_nan(a)) { return nanf(); }
    return select(inff(), -inff(), sign_bit(a) != sign_bit(b));
  }
  if (is_inf(b)) {
    if (!is_finite(a)) { return nanf(); }
    return select(0.0, -0.0, sign_bit(a) != sign_bit(b));
  }
  return a / b;
}

// 2^n for integer n in [-252, 256] without overflowing an intermediate.
fn pow2i(p: f32, n: i32) -> f32 {
  let h = n / 2;
  return ldexp(ldexp(p, h), n - h);
}

// exp(x): x = n ln2 + r, |r| <= ln2/2 (Cody-Waite), Taylor degree 8 for exp(r).
fn fexp(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72284) { return inff(); }
  if (x < -103.98) { return 0.0; }
  let n = round(x * 1.4426950408889634);
  let r = (x - n * 0.693145751953125) - n * 1.4286068203094172e-6;
  let p = 1.0 + r * (1.0 + r * (0.5 + r * (0.16666666666666666 + r * (0.041666666666666664 + r * (0.008333333333333333
        + r * (0.001388888888888889 + r * (0.0001984126984126984 + r * 0.0000248015873015873)))))));
  return pow2i(p, i32(n));
}

// expm1 without cancellation near 0.
fn fexpm1(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (fabs(x) < 0.5) {
    return x * (1.0 + x * (0.5 + x * (0.16666666666666666 + x * (0.041666666666666664 + x * (0.008333333333333333
        + x * (0.001388888888888889 + x * (0.0001984126984126984 + x * (0.0000248015873015873 + x * 0.0000027557319223985893))))))));
  }
  if (x < -20.0) { return -1.0; }
  return fexp(x) - 1.0;
}

// log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(f / (2 + f)).
fn flog(x0: f32) -> f32 {
  if (is_nan(x0)) { return x0; }
  if (x0 < 0.0) { return nanf(); }
  if (x0 == 0.0) { return -inff(); }
  if (is_inf(x0)) { return x0; }
  var x = x0;
  var e = 0;
  if (x < 1.1754943508222875e-38) { x = x * 8388608.0; e = -23; }
  let bits = bitcast<u32>(x);
  e = e + i32((bits >> 23u) & 0xffu) - 127;
  var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
  if (m > 1.4142135623730951) { m = m * 0.5; e = e + 1; }
  let f = m - 1.0;
  let s = f / (2.0 + f);
  let s2 = s * s;
  let t = s2 * (0.6666666666666666 + s2 * (0.4 + s2 * (0.2857142857142857 + s2 * (0.2222222222222222 + s2 * 0.18181818181818182))));
  let lm = f - s * (f - t);
  let ef = f32(e);
  return ef * 0.693145751953125 + (lm + ef * 1.4286068203094172e-6);
}

fn flog1p(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x < -1.0) { return nanf(); }
  if (x == -1.0) { return -inff(); }
  if (is_inf(x)) { return x; }
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return flog(u) * (x / (u - 1.0));
}

fn fsqrt(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x < 0.0) { return nanf(); }
  if (x == 0.0 || is_inf(x)) { return x; }
  return sqrt(x);
}

fn sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-0.16666666666666666 + z * (0.008333333333333333 + z * (-0.0001984126984126984 + z * (0.0000027557319223985893 - z * 2.505210838544172e-8))));
}
fn cos_poly(r: f32) -> f32 {
  let z = r * r;
  return 1.0 - 0.5 * z + z * z * (0.041666666666666664 + z * (-0.001388888888888889 + z * (0.0000248015873015873 + z * (-2.755731922398589e-7 + z * 2.08767569878681e-9))));
}
// sin/cos with a three-part Cody-Waite reduction by pi/2.
fn fsincos(x: f32, want_cos: bool) -> f32 {
  if (!is_finite(x)) { return nanf(); }
  let k = round(x * 0.6366197723675814);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703e-4) - k * 7.549789954891882e-8;
  var q = i32(k) & 3;
  if (want_cos) { q = (q + 1) & 3; }
  var v: f32;
  if (q == 0) { v = sin_poly(r); }
  else if (q == 1) { v = cos_poly(r); }
  else if (q == 2) { v = -sin_poly(r); }
  else { v = -cos_poly(r); }
  return v;
}
fn fsin(x: f32) -> f32 { return fsincos(x, false); }
fn fcos(x: f32) -> f32 { return fsincos(x, true); }

fn ftanh(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = fabs(x);
  if (a > 9.5) { return with_sign(1.0, x); }
  let e = fexpm1(2.0 * a);
  return with_sign(e / (e + 2.0), x);
}

fn fsigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + fexp(-x)); }
  let e = fexp(x);
  return e / (1.0 + e);
}

// exp(-x*x) with x*x split exactly (hi has 12 significant bits, so hi*hi is exact).
fn fexp_mx2(x: f32) -> f32 {
  let hi = bitcast<f32>(bitcast<u32>(x) & 0xfffff000u);
  let lo = x - hi;
  return fexp(-hi * hi) * fexp(-lo * (x + hi));
}
// erf for 0 <= a < 1.5: 2/sqrt(pi) exp(-a^2) sum 2^n a^(2n+1) / (2n+1)!!, all terms positive.
fn erf_series(a: f32) -> f32 {
  let x2 = a * a;
  var term = a;
  var sum = a;
  for (var n = 1; n < 60; n = n + 1) {
    term = term * (2.0 * x2) / f32(2 * n + 1);
    sum = sum + term;
    if (term < sum * 1e-9) { break; }
  }
  return 1.1283791670955126 * fexp_mx2(a) * sum;
}
// erfc for x >= 1.5 by its continued fraction.
fn erfc_cf(x: f32) -> f32 {
  var f = x;
  for (var k = 40; k >= 1; k = k - 1) { f = x + (f32(k) * 0.5) / f; }
  return 0.5641895835477563 * fexp_mx2(x) / f;
}
fn ferf(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let a = fabs(x);
  var r: f32;
  if (a < 1.5) { r = erf_series(a); }
  else if (a > 6.0) { r = 1.0; }
  else { r = 1.0 - erfc_cf(a); }
  return with_sign(r, x);
}
fn ferfc(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x >= 1.5) { if (x > 10.1) { return 0.0; } return erfc_cf(x); }
  if (x > -1.5) { return 1.0 - with_sign(erf_series(fabs(x)), x); }
  if (x < -6.0) { return 2.0; }
  return 2.0 - erfc_cf(-x);
}
fn fgelu(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 10.0) { return x; }
  if (x < -14.0) { if (is_inf(x)) { return nanf(); } return -0.0; }
  return 0.5 * x * ferfc(-x * 0.7071067811865476);
}
fn fgelu_tanh(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  return 0.5 * x * (1.0 + ftanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}
fn fsilu(x: f32) -> f32 { return x * fsigmoid(x); }
fn fsoftplus(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  return max(x, 0.0) + flog1p(fexp(-fabs(x)));
}
fn ffloor(x: f32) -> f32 { if (!is_finite(x)) { return x; } return floor(x); }
fn fceil(x: f32) -> f32 {
  if (!is_finite(x)) { return x; }
  if (x > -1.0 && x < 0.0) { return -0.0; }
  return ceil(x);
}
// round half to even, exact for every float32 (x - floor(x) is exact).
fn fround(x: f32) -> f32 {
  if (!is_finite(x) || fabs(x) >= 8388608.0) { return x; }
  let f = floor(x);
  let d = x - f;
  var r = f;
  if (d > 0.5) { r = f + 1.0; }
  else if (d == 0.5) {
    let half = f * 0.5;
    if (floor(half) != half) { r = f + 1.0; }
  }
  if (r == 0.0) { return with_sign(0.0, x); }
  return r;
}
fn fsign(x: f32) -> f32 {
  if (x > 0.0) { return 1.0; }
  if (x < 0.0) { return -1.0; }
  return 0.0;
}

// Integer power of a float by squaring (|n| <= 64), as C's pow gives for integer exponents.
fn fpowi(a: f32, n: i32) -> f32 {
  var e = abs(n);
  var b = a;
  var r = 1.0;
  loop {
    if ((e & 1) != 0) { r = r * b; }
    e = e >> 1u;
    if (e == 0) { break; }
    b = b * b;
  }
  if (n < 0) { return frecip(r); }
  return r;
}
// C's pow (PyTorch follows it).
fn fpow(a: f32, b: f32) -> f32 {
  if (a == 1.0 || b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return nanf(); }
  if (a == -1.0 && is_inf(b)) { return 1.0; }
  let b_int = is_finite(b) && floor(b) == b;
  if (b_int && fabs(b) <= 64.0) { return fpowi(a, i32(b)); }
  let aa = fabs(a);
  if (is_inf(b)) {
    if ((aa > 1.0) == (b > 0.0)) { return inff(); }
    return 0.0;
  }
  if (a < 0.0 && !b_int) { return nanf(); }
  var r: f32;
  if (aa == 0.0) { r = select(inff(), 0.0, b > 0.0); }
  else if (is_inf(aa)) { r = select(0.0, inff(), b > 0.0); }
  else { r = fexp(b * flog(aa)); }
  if (sign_bit(a) && b_int && fabs(b) < 16777216.0) {
    let h = b * 0.5;
    if (floor(h) != h) { r = -r; }
  }
  return r;
}
`;

/** WGSL int32 helpers (wrapping arithmetic, integer power). */
export const INT_WGSL = /* wgsl */ `
fn ineg(x: i32) -> i32 { return bitcast<i32>(0u - bitcast<u32>(x)); }
fn iabs(x: i32) -> i32 { return select(x, ineg(x), x < 0); }
fn imul(a: i32, b: i32) -> i32 { return bitcast<i32>(bitcast<u32>(a) * bitcast<u32>(b)); }
fn iadd(a: i32, b: i32) -> i32 { return bitcast<i32>(bitcast<u32>(a) + bitcast<u32>(b)); }
fn isub(a: i32, b: i32) -> i32 { return bitcast<i32>(bitcast<u32>(a) - bitcast<u32>(b)); }
fn idiv(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  if (b == -1) { return ineg(a); }
  return a / b;
}
fn ipow(base: i32, ex: i32) -> i32 {
  var r = 1;
  var b = base;
  var e = ex;
  loop {
    if (e <= 0) { break; }
    if ((e & 1) != 0) { r = imul(r, b); }
    b = imul(b, b);
    e = e >> 1u;
  }
  return r;
}
`;

/** Strided addressing: a view described in the meta buffer at word `b` as [rank, offset, shape..., strides...]. */
export const VIEW_WGSL = /* wgsl */ `
fn vpos(b: u32, flat: u32) -> u32 {
  let rank = prm[b];
  var p = prm[b + 1u];
  var rem = flat;
  for (var d = i32(rank) - 1; d >= 0; d = d - 1) {
    let s = prm[b + 2u + u32(d)];
    p = p + (rem % s) * prm[b + 2u + rank + u32(d)];
    rem = rem / s;
  }
  return p;
}
`;
