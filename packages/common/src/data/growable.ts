/**
 * Append-only typed-array buffers that grow geometrically (×2), so loading N rows costs
 * O(N) copies in total and never builds an array of row objects. `finish()` trims to
 * the used length with one final copy so the Dataset does not pin the spare capacity.
 */
type TypedCtor<T> = { new (length: number): T };
type Typed = Float32Array | Float64Array | Uint8Array | Uint32Array;

export class Growable<T extends Typed> {
  private buf: T;
  length = 0;

  constructor(
    private readonly ctor: TypedCtor<T>,
    initialCapacity = 1024,
  ) {
    this.buf = new ctor(Math.max(16, initialCapacity));
  }

  /** Makes room for `extra` more elements and returns the backing array. */
  reserve(extra: number): T {
    const need = this.length + extra;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new this.ctor(cap);
      next.set(this.buf as never);
      this.buf = next;
    }
    return this.buf;
  }

  push(value: number): void {
    this.reserve(1)[this.length++] = value;
  }

  /** A right-sized copy of the contents. */
  finish(): T {
    return this.buf.slice(0, this.length) as T;
  }
}
