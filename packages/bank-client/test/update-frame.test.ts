/**
 * The update frames a bank builds before it offers them (update-upload.ts): a frame over the
 * aggregator's limit is not built but refused with both sizes, for plaintext and masked updates,
 * so that it is never offered and costs no privacy budget.
 */
import { describe, expect, it } from 'vitest';
import { decodeClientMessage, type RoundAssignment } from '@finsecure/common/protocol';
import { maskedFrame, updateFrame } from '../src/update-upload.js';
import { fitOutput } from './helpers/fit-output.js';

const assignment = { roundId: 3, modelVersion: 2, config: { updateEncoding: 'float32' } } as RoundAssignment;
const out = fitOutput;

describe('update frames and the frame limit', () => {
  it('builds the update frame within the limit, and names both sizes over it', () => {
    const frame = updateFrame(assignment, out, 1 << 20);
    expect(frame).toBeInstanceOf(Uint8Array);
    const size = (frame as Uint8Array).byteLength;
    expect(decodeClientMessage(frame as Uint8Array).msg).toMatchObject({
      type: 'update',
      roundId: 3,
      numExamples: 300,
    });
    expect(updateFrame(assignment, out, size - 1)).toBe(
      `update frame of ${size} bytes exceeds the aggregator's frame limit of ${size - 1} bytes`,
    );
  });

  it('does the same for a masked update', () => {
    const msg = { type: 'secagg_masked_update', roundId: 3 } as never;
    const tensors = [{ name: 'masked', shape: [10], data: new Uint32Array(10) }];
    const frame = maskedFrame(msg, tensors, 1 << 20) as Uint8Array;
    // Exactly at the limit: built.
    expect(maskedFrame(msg, tensors, frame.byteLength)).toBeInstanceOf(Uint8Array);
    expect(maskedFrame(msg, tensors, frame.byteLength - 1)).toBe(
      `masked update frame of ${frame.byteLength} bytes exceeds the aggregator's frame limit of ${frame.byteLength - 1} bytes`,
    );
  });
});
