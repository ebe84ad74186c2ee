/**
 * Solving the small dense symmetric systems of KernelSHAP's weighted least squares
 * ((d−1)×(d−1), d ≤ a few hundred): Gaussian elimination with partial pivoting, which
 * also copes with the mildly indefinite rounding of a nearly singular XᵀWX.
 */

/**
 * Solves A·x = b for a row-major k×k matrix A (both copied, not modified). Throws when a
 * pivot is below `relTol` times the largest |A_ij| (singular for practical purposes).
 */
export function solveLinear(a: Float64Array, b: Float64Array, k: number, relTol = 1e-12): Float64Array {
  if (a.length !== k * k || b.length !== k) throw new Error(`solveLinear: expected ${k}×${k} and ${k} values`);
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  let scale = 0;
  for (let i = 0; i < m.length; i++) scale = Math.max(scale, Math.abs(m[i]!));
  const tol = relTol * (scale || 1);
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r * k + c]!) > Math.abs(m[p * k + c]!)) p = r;
    if (!(Math.abs(m[p * k + c]!) > tol)) throw new Error('singular system');
    if (p !== c) {
      for (let j = 0; j < k; j++) {
        const t = m[c * k + j]!;
        m[c * k + j] = m[p * k + j]!;
        m[p * k + j] = t;
      }
      const t = x[c]!;
      x[c] = x[p]!;
      x[p] = t;
    }
    const piv = m[c * k + c]!;
    for (let r = c + 1; r < k; r++) {
      const f = m[r * k + c]! / piv;
      if (f === 0) continue;
      for (let j = c; j < k; j++) m[r * k + j] -= f * m[c * k + j]!;
      x[r] -= f * x[c]!;
    }
  }
  for (let c = k - 1; c >= 0; c--) {
    let s = x[c]!;
    for (let j = c + 1; j < k; j++) s -= m[c * k + j]! * x[j]!;
    x[c] = s / m[c * k + c]!;
  }
  return x;
}
