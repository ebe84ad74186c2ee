/**
 * The row-major numeric matrix every detector takes: `rows × cols` values in one typed
 * array, row i at [i·cols, (i+1)·cols). No per-row objects, so a million rows of 30
 * features are 120 MB of float32 and nothing else.
 */
export interface Matrix {
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
}

/** Builds a Matrix from plain rows (tests, small inputs). Throws on ragged rows. */
export function matrixFromRows(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows.length === 0 ? 0 : rows[0].length;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new RangeError(`row ${i} has ${r.length} values, row 0 has ${cols}`);
    data.set(r, i * cols);
  });
  return { data, rows: rows.length, cols };
}

/**
 * Checks shape and finiteness. Detectors call it on every input: a NaN would silently
 * walk one side of every split (Isolation Forest) or poison every distance (LOF).
 */
export function checkMatrix(x: Matrix, what: string, cols?: number): void {
  if (!Number.isInteger(x.rows) || x.rows < 0 || !Number.isInteger(x.cols) || x.cols < 1) {
    throw new RangeError(`${what}: bad shape ${x.rows} × ${x.cols}`);
  }
  if (x.data.length < x.rows * x.cols) {
    throw new RangeError(`${what}: ${x.data.length} values for ${x.rows} × ${x.cols}`);
  }
  if (cols !== undefined && x.cols !== cols) {
    throw new RangeError(`${what}: ${x.cols} features, the model was fitted on ${cols}`);
  }
  const d = x.data;
  const n = x.rows * x.cols;
  for (let i = 0; i < n; i++) {
    const v = d[i];
    if (v - v !== 0) {
      throw new RangeError(`${what}: row ${Math.floor(i / x.cols)}, feature ${i % x.cols} is not finite (${v})`);
    }
  }
}
