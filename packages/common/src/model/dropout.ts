/**
 * Dropout masks of a training batch (inverted dropout, Srivastava et al. 2014, as Keras' Dropout
 * layer: each unit kept with probability keep = 1 − rate; the 1/keep scaling is folded into the
 * next layer's weights by the callers), drawn from a seeded inline generator so that a batch's
 * masks are reproducible, and the seeds of a batch's shards when several threads share it.
 */
/**
 * Seed of shard `shard` (> 0) of a batch whose shard 0 uses `seed`: a murmur3 finaliser
 * of both, so that shards draw unrelated mask streams (seeds that differ by the
 * generator's own increment would share most of their stream).
 */
export function shardSeed(seed: number, shard: number): number {
  if (shard === 0) return seed;
  let t = (seed ^ Math.imul(shard, 0x632be5ab)) >>> 0;
  t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
  t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
  return (t ^ (t >>> 16)) & 0x7fffffff;
}

/**
 * Fills the 0/1 dropout masks of one batch (row-major [rows, units] per hidden layer, rows
 * `strides[l]` floats apart: units by default), each unit kept with probability `keep`. The
 * draws go row by row, unit by unit, whatever the stride, so a stride changes the layout, not
 * the masks. sfc32 seeded through splitmix32, inlined: the
 * masks of a 1024-row batch take ~100k draws, and a method call per draw would cost as
 * much as the matrix products.
 */
export function fillMasks(
  masks: Float32Array[],
  layers: readonly { outSize: number }[],
  rows: number,
  keep: number,
  seed: number,
  strides?: readonly number[],
): void {
  let s = seed >>> 0;
  const mix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
    t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
    return (t ^ (t >>> 16)) | 0;
  };
  let a = mix();
  let b = mix();
  let c = mix();
  let d = 1;
  for (let i = 0; i < 12; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
  }
  // Keep when a uniform 32-bit word is below keep·2³² (exact to 2⁻³²), compared as
  // signed integers (both sides offset by 2³¹) so the loop stays in int32 arithmetic.
  const threshold = (Math.floor(keep * 4294967296) - 2147483648) | 0;
  for (let l = 0; l < masks.length; l++) {
    const mask = masks[l]!;
    const units = layers[l]!.outSize;
    const stride = strides?.[l] ?? units;
    for (let r = 0; r < rows; r++) {
      const end = r * stride + units;
      for (let i = r * stride; i < end; i++) {
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        // Branch-free: a taken/not-taken branch at random 80/20 mispredicts constantly.
        mask[i] = +((t ^ -2147483648) < threshold);
      }
    }
  }
}
