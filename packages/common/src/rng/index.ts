/**
 * Seeded pseudo-random numbers. Everything in FinSecure that draws randomness for
 * experiments (splits, partitions, SMOTE, initial weights, simulated noise in tests)
 * takes an `Rng` so that a seed reproduces a run exactly.
 *
 * The generator is sfc32 seeded through splitmix32: fast, 128-bit state, good
 * statistical quality and trivially portable. It is NOT cryptographically secure;
 * production differential-privacy noise uses `cryptoRng()` instead.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal N(0, 1). */
  normal(): number;
  /** A new independent generator derived from this one (for sub-tasks). */
  fork(): Rng;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Base class: turns a source of uniform 32-bit words into the Rng API. */
abstract class RngBase implements Rng {
  private spare: number | null = null;
  protected abstract nextUint32(): number;
  abstract fork(): Rng;

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int needs a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Marsaglia polar method; caches the second variate. */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u: number, v: number, s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }
}

class Sfc32 extends RngBase {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    super();
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = 1;
    // Discard the first outputs so that close seeds diverge immediately.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  protected nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  fork(): Rng {
    return new Sfc32(this.nextUint32());
  }
}

/** A deterministic generator: the same seed always gives the same sequence. */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  return new Sfc32(Math.floor(seed) >>> 0);
}

/**
 * Cryptographically strong randomness (node:crypto / Web Crypto) behind the same API.
 * Used for differential-privacy noise in production, where a predictable generator
 * would let an attacker subtract the noise.
 */
export function cryptoRng(): Rng {
  const buf = new Uint32Array(1024);
  let pos = buf.length;
  class Crypto extends RngBase {
    protected nextUint32(): number {
      if (pos >= buf.length) {
        globalThis.crypto.getRandomValues(buf);
        pos = 0;
      }
      return buf[pos++]!;
    }
    fork(): Rng {
      return cryptoRng();
    }
  }
  return new Crypto();
}

/** In-place Fisher-Yates shuffle. */
export function shuffleInPlace<T>(arr: T[] | Int32Array | Uint32Array, rng: Rng): void {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = arr[i]!;
    arr[i] = arr[j]!;
    arr[j] = t;
  }
}
