import { afterEach, describe, expect, it } from 'vitest';
import { createAccumulator } from '../src/kernels/accumulate.js';
import { compileKernel, setWasmKernelsEnabled } from '../src/kernels/wasm/instance.js';
import { decodeClientMessage, encodeClientMessage } from '../src/protocol/index.js';
import { createRng } from '../src/rng/index.js';
import { createStrategy, FedAvg, FedMedian, type AggregationOutcome } from '../src/strategy/index.js';

const MAX_F32 = 3.4028234663852886e38;

/** The JS expression the kernel must match: `0 + w * x` on the first add, `s + w * x` after. */
function reference(updates: Float32Array[], weights: number[]): Float64Array {
  const s = new Float64Array(updates[0]!.length);
  updates.forEach((x, k) => {
    for (let i = 0; i < x.length; i++) s[i] = (k === 0 ? 0 : s[i]!) + weights[k]! * x[i]!;
  });
  return s;
}

const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Values over the whole float32 range: normals of every scale, subnormals, ±0, ±max. */
function update(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const specials = [0, -0, 1.4e-45, -1.4e-45, 1.1754942e-38, MAX_F32, -MAX_F32, 1, -1];
  return Float32Array.from({ length: n }, () =>
    rng.next() < 0.05 ? specials[rng.int(specials.length)]! : rng.normal() * 10 ** (rng.int(40) - 20),
  );
}

afterEach(() => {
  setWasmKernelsEnabled(true);
});

describe('accumulate kernel (WebAssembly SIMD) against the JavaScript path', () => {
  it('runs on the WebAssembly kernel in Node 20 (so the comparisons below compare two implementations)', () => {
    expect(createAccumulator(10).kind).toBe('wasm');
    expect(createAccumulator(10, 'js').kind).toBe('js');
  });

  it('gives the same sum bit for bit as `s + w * x` in JS, for every length mod 4 and awkward weights', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 4097, 100_003]) {
      const updates = [update(n, n), update(n, n + 1), update(n, n + 2), update(n, n + 3)];
      const weights = [1 / 3, 1000, 7e-300, -2.5];
      const expected = reference(updates, weights);
      for (const kind of ['wasm', 'js'] as const) {
        const acc = createAccumulator(n, kind);
        updates.forEach((x, k) => expect(acc.add(x, weights[k]!)).toBe(-1));
        expect(bytesOf(acc.sum).equals(bytesOf(expected)), `${kind}, n = ${n}`).toBe(true);
      }
    }
  });

  it('stores +0 (not -0) for a first update of -0, as `0 + w * x` does', () => {
    for (const kind of ['wasm', 'js'] as const) {
      const acc = createAccumulator(5, kind);
      acc.add(new Float32Array([-0, -0, -0, -0, -0]), 1);
      expect([...acc.sum].every((v) => Object.is(v, 0))).toBe(true);
    }
  });

  it('refuses NaN and ±Infinity anywhere with the first bad index, leaving the sum untouched', () => {
    const n = 1003; // 1000 in SIMD groups of four, 3 in the scalar tail
    for (const kind of ['wasm', 'js'] as const) {
      const acc = createAccumulator(n, kind);
      acc.add(update(n, 1), 0.5);
      const before = Buffer.from(bytesOf(acc.sum));
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of [0, 3, 4, 517, 999, 1000, 1002]) {
          const x = update(n, 2);
          x[at] = bad;
          if (at + 7 < n) x[at + 7] = NaN; // a later bad value does not hide the first
          expect(acc.add(x, 2), `${kind} ${bad} at ${at}`).toBe(at);
          expect(bytesOf(acc.sum).equals(before)).toBe(true);
        }
      }
      // The largest finite float32 is finite.
      expect(acc.add(new Float32Array(n).fill(-MAX_F32), 1e-300)).toBe(-1);
    }
  });

  it('reads an update written into its slot without copying, and copies any other array in', () => {
    const n = 4099;
    const a = update(n, 5);
    const b = update(n, 6);
    const acc = createAccumulator(n);
    const slot = acc.updateSlot();
    expect(slot).toBe(acc.updateSlot());
    expect(slot.length).toBe(n);
    slot.set(a);
    acc.add(slot, 3);
    acc.add(b, 0.25); // copied into the slot
    expect(bytesOf(acc.sum).equals(bytesOf(reference([a, b], [3, 0.25])))).toBe(true);
    expect(() => acc.add(new Float32Array(n - 1), 1)).toThrow(/update has 4098 values, the sum has 4099/);
  });

  it('falls back to the JavaScript path when kernels are off or the runtime rejects the module', () => {
    setWasmKernelsEnabled(false);
    const acc = createAccumulator(9);
    expect(acc.kind).toBe('js');
    acc.add(update(9, 1), 2);
    expect(bytesOf(acc.sum).equals(bytesOf(reference([update(9, 1)], [2])))).toBe(true);
    setWasmKernelsEnabled(true);
    // A module this runtime cannot compile (here: not wasm at all) gives null, not an exception.
    expect(compileKernel('not-a-module', () => new Uint8Array([0, 97, 115, 109, 99, 0, 0, 0]))).toBeNull();
    expect(() => createAccumulator(-1)).toThrow(/integer >= 0/);
  });
});

describe('FedAvg on the kernel: same model as the JavaScript path, and updates decoded into its slot', () => {
  const n = 10_007;
  const global = update(n, 99).map((x) => Math.max(-1, Math.min(1, x)));
  const config = {
    epochs: 2,
    batchSize: 32,
    learningRate: 0.01,
    smoteRatio: 0,
    smoteK: 5,
    updateEncoding: 'float32' as const,
  };
  const banks = [120, 4000, 37, 900].map((numExamples, b) => ({ bankId: `b${b}`, numExamples }));
  const deltas = banks.map((_, b) => update(n, 10 + b).map((x) => Math.max(-1e3, Math.min(1e3, x))));
  const frames = deltas.map((data, b) =>
    encodeClientMessage(
      {
        type: 'update',
        roundId: 1,
        modelVersion: 0,
        kind: 'delta',
        numExamples: banks[b]!.numExamples,
        numTrained: banks[b]!.numExamples * 2,
        loss: 0.1 * (b + 1),
        timings: { trainMs: 1, prepareMs: 1 },
      },
      [{ name: 'update', shape: [n], data }],
    ),
  );

  function run(options: ConstructorParameters<typeof FedAvg>[0], viaSlot: boolean): AggregationOutcome {
    const agg = new FedAvg(options).beginAggregation({ roundId: 1, global, config, rng: createRng(1) }, banks);
    banks.forEach((b, k) => {
      const slot = agg.updateSlot?.();
      const tensor = decodeClientMessage(frames[k]!, viaSlot ? { floatTarget: () => slot } : {}).tensors.get('update')!;
      if (viaSlot) expect(tensor.data).toBe(slot);
      agg.add({
        bankId: b.bankId,
        delta: tensor.data,
        numExamples: b.numExamples,
        numTrained: b.numExamples * 2,
        loss: 0.1 * (k + 1),
      });
    });
    return agg.finish();
  }

  it('gives bit-identical weights to the JS path, plain and with every option, with or without the slot', () => {
    for (const options of [
      {},
      { normalizeSteps: true, lossExponent: 1, serverLearningRate: 0.7, serverMomentum: 0.9 },
    ]) {
      setWasmKernelsEnabled(false);
      const js = run(options, false);
      const jsSlot = run(options, true);
      setWasmKernelsEnabled(true);
      const wasm = run(options, false);
      const wasmSlot = run(options, true);
      for (const other of [jsSlot, wasm, wasmSlot]) {
        expect(Buffer.from(other.weights.buffer).equals(Buffer.from(js.weights.buffer))).toBe(true);
        expect(other.bankWeights).toEqual(js.bankWeights);
        expect(other.meanLoss).toBe(js.meanLoss);
      }
    }
  });

  it('reuses its sum round after round without carrying anything over, and cannot be finished twice', () => {
    const strategy = new FedAvg();
    const begin = () => strategy.beginAggregation({ roundId: 1, global, config, rng: createRng(1) }, banks);
    const first = begin();
    deltas.forEach((delta, k) => first.add({ bankId: `b${k}`, delta, numExamples: 10 + k, loss: 0.1 }));
    const slot = first.updateSlot!();
    first.finish();
    expect(() => first.finish()).toThrow(/already finished/);
    expect(() => first.updateSlot!()).toThrow(/already finished/);
    const second = begin();
    expect(second.updateSlot!()).toBe(slot); // the same memory, reused
    second.add({ bankId: 'b2', delta: deltas[2]!, numExamples: 37, loss: 0.1 });
    const fresh = new FedAvg().beginAggregation({ roundId: 1, global, config, rng: createRng(1) }, banks);
    fresh.add({ bankId: 'b2', delta: deltas[2]!, numExamples: 37, loss: 0.1 });
    expect(Buffer.from(second.finish().weights.buffer).equals(Buffer.from(fresh.finish().weights.buffer))).toBe(true);
  });

  it('refuses a non-finite update without changing the sum; strategies that keep updates offer no slot', () => {
    const agg = createStrategy('fedavg').beginAggregation({ roundId: 1, global, config, rng: createRng(1) }, banks);
    agg.add({ bankId: 'b0', delta: deltas[0]!, numExamples: 120, loss: 0.1 });
    const bad = deltas[1]!.slice();
    bad[n - 2] = Infinity;
    expect(() => agg.add({ bankId: 'b1', delta: bad, numExamples: 4000, loss: 0.1 })).toThrow(
      `update from "b1": value ${n - 2} is Infinity`,
    );
    const out = agg.finish();
    expect(out.numContributors).toBe(1);
    const only = createStrategy('fedavg').beginAggregation({ roundId: 1, global, config, rng: createRng(1) }, banks);
    only.add({ bankId: 'b0', delta: deltas[0]!, numExamples: 120, loss: 0.1 });
    expect(Buffer.from(out.weights.buffer).equals(Buffer.from(only.finish().weights.buffer))).toBe(true);
    expect(
      new FedMedian().beginAggregation({ roundId: 1, global, config, rng: createRng(1) }, banks).updateSlot,
    ).toBeUndefined();
  });
});
