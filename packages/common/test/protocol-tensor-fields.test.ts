/**
 * An evaluation's histograms as uint32 tensors (protocol/tensor-fields.ts): the message decodes to
 * the same counts as with JSON arrays, the header no longer carries them, and a frame that gives a
 * field both ways, or a tensor with nothing to fill, is refused with the field named.
 */
import { describe, expect, it } from 'vitest';
import {
  FederationClientMessage,
  HISTOGRAM_TENSOR_FIELDS,
  decodeFrame,
  encodeFrame,
  isFrameError,
  splitTensorFields,
  type EvaluationResult,
} from '@finsecure/common/protocol';
import { emptyHistogram } from '@finsecure/common/metrics';

function evaluation(): EvaluationResult {
  const histogram = emptyHistogram(1000);
  histogram.positives[900] = 5;
  histogram.negatives[900] = 1;
  histogram.negatives[10] = 94;
  return {
    type: 'evaluation',
    roundId: 3,
    modelVersion: 2,
    numExamples: 100,
    threshold: 0.5,
    confusion: { tp: 5, fp: 1, tn: 94, fn: 0 },
    histogram,
    loss: 0.05,
    evalMs: 1,
  };
}

const decode = (frame: Uint8Array) =>
  decodeFrame(frame, FederationClientMessage, { tensorFields: HISTOGRAM_TENSOR_FIELDS });

function header(frame: Uint8Array): { msg: Record<string, unknown>; tensors: { name: string; dtype: string }[] } {
  const length = new DataView(frame.buffer, frame.byteOffset).getUint32(4, true);
  return JSON.parse(new TextDecoder().decode(frame.subarray(8, 8 + length))) as never;
}

describe('histograms as tensors', () => {
  it('decode to the same counts as the JSON arrays, with a header that no longer holds them', () => {
    const msg = evaluation();
    const split = splitTensorFields(msg, HISTOGRAM_TENSOR_FIELDS);
    const frame = encodeFrame(split.msg, split.tensors);
    const json = encodeFrame(msg);
    const h = header(frame);
    // What the receiver parses as JSON: a few hundred bytes instead of every count.
    expect(JSON.stringify(h).length).toBeLessThan(header(json).msg.histogram ? 600 : 0);
    expect(JSON.stringify(header(json)).length).toBeGreaterThan(4000);
    expect(h.tensors.map((t) => [t.name, t.dtype])).toEqual([
      ['histogram.positives', 'uint32'],
      ['histogram.negatives', 'uint32'],
    ]);
    expect(h.msg.histogram).toEqual({ scale: msg.histogram.scale, logitMax: 40, bins: 1000 });
    // The caller's message is left whole.
    expect(msg.histogram.positives).toHaveLength(1000);

    const binary = decode(frame).msg as EvaluationResult;
    const plain = decode(json).msg as EvaluationResult;
    expect(binary.histogram.positives).toBeInstanceOf(Uint32Array);
    expect(Array.from(binary.histogram.positives)).toEqual(plain.histogram.positives);
    expect(Array.from(binary.histogram.negatives)).toEqual(plain.histogram.negatives);
    expect({ ...binary, histogram: null }).toEqual({ ...plain, histogram: null });
  });

  it('are refused given both ways, or with no histogram to fill, naming the field', () => {
    const msg = evaluation();
    const { tensors } = splitTensorFields(msg, HISTOGRAM_TENSOR_FIELDS);
    const both = encodeFrame(msg, tensors);
    expect(() => decode(both)).toThrow(/msg\.histogram\.positives is given both in the header and as a tensor/);
    const { histogram: _h, ...noHistogram } = msg;
    const orphan = encodeFrame(noHistogram, tensors);
    try {
      decode(orphan);
      expect.unreachable();
    } catch (err) {
      expect(isFrameError(err, 'HEADER_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/tensor "histogram.positives" has no msg.histogram to fill/);
    }
  });

  it('a float tensor of that name, or a missing one, leaves the field missing, and the schema says so', () => {
    const msg = evaluation();
    const split = splitTensorFields(msg, HISTOGRAM_TENSOR_FIELDS);
    const floats = split.tensors.map((t) => ({ ...t, data: Float32Array.from(t.data) }));
    expect(() => decode(encodeFrame(split.msg, floats))).toThrow(/msg\.histogram\.positives/);
    expect(() => decode(encodeFrame(split.msg, split.tensors.slice(0, 1)))).toThrow(/msg\.histogram\.negatives/);
    // Too few counts for the bins the header names.
    const short = split.tensors.map((t) => ({ ...t, shape: [999], data: (t.data as Uint32Array).subarray(0, 999) }));
    expect(() => decode(encodeFrame(split.msg, short))).toThrow(/exactly `bins` entries/);
  });

  it('without the option, the tensors are not read into the message (a decoder that does not know them)', () => {
    const split = splitTensorFields(evaluation(), HISTOGRAM_TENSOR_FIELDS);
    expect(() => decodeFrame(encodeFrame(split.msg, split.tensors), FederationClientMessage)).toThrow(
      /msg\.histogram\.positives/,
    );
  });

  it('leaves arrays that are not uint32 counts in the message', () => {
    const msg = evaluation();
    msg.histogram.positives[0] = -1;
    const split = splitTensorFields(msg, HISTOGRAM_TENSOR_FIELDS);
    expect(split.tensors.map((t) => t.name)).toEqual(['histogram.negatives']);
    expect((split.msg.histogram as { positives?: unknown }).positives).toBe(msg.histogram.positives);
  });
});
