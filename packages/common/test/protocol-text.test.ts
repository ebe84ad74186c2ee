/**
 * Free text on the wire is well-formed UTF-16 once parsed (protocol/text.ts): a bank's lone
 * surrogate, which no store can keep, becomes U+FFFD before it can reach a sealed round record or
 * an audit entry.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '@finsecure/common/rng';
import { decodeClientMessage, encodeFrame, wellFormed } from '@finsecure/common/protocol';

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** Whether the code unit at `i` is a surrogate without its partner (checked unit by unit, as the test's own oracle). */
function loneAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (isHigh(c)) return !isLow(s.charCodeAt(i + 1));
  if (isLow(c)) return !isHigh(s.charCodeAt(i - 1));
  return false;
}

describe('wellFormed', () => {
  it('replaces each lone surrogate and keeps pairs', () => {
    expect(wellFormed('a\ud800b')).toBe('a\ufffdb');
    expect(wellFormed('\udc00')).toBe('\ufffd');
    expect(wellFormed('\udc00\ud800')).toBe('\ufffd\ufffd');
    expect(wellFormed('\ud800\ud83d\udcb3')).toBe('\ufffd\ud83d\udcb3');
    expect(wellFormed('card \ud83d\udcb3 ü')).toBe('card \ud83d\udcb3 ü');
  });

  it('on random strings of surrogates and letters, changes exactly the lone surrogates, unit by unit', () => {
    const rng = createRng(7);
    const alphabet = ['\ud800', '\udbff', '\udc00', '\udfff', 'a', 'ü', '\ud83d', '\udcb3'];
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: rng.int(12) }, () => alphabet[rng.int(alphabet.length)]).join('');
      const expected = [...Array(s.length).keys()].map((j) => (loneAt(s, j) ? '\ufffd' : s[j])).join('');
      expect(wellFormed(s), JSON.stringify(s)).toBe(expected);
    }
  });
});

describe('free text in frames', () => {
  it("a decline's reason with a lone surrogate arrives well-formed", () => {
    // JSON carries the lone surrogate as an escape: as a bank's own encoder would write it.
    const frame = encodeFrame({ type: 'decline', roundId: 3, reason: 'budget \ud800 spent' });
    expect(new TextDecoder().decode(frame)).toContain('\\ud800');
    const { msg } = decodeClientMessage(frame);
    expect(msg).toEqual({ type: 'decline', roundId: 3, reason: 'budget \ufffd spent' });
  });

  it("an error frame's code and message likewise", () => {
    const err = decodeClientMessage(encodeFrame({ type: 'error', code: 'E\udfff', message: 'm\ud800' })).msg;
    expect(err).toMatchObject({ code: 'E\ufffd', message: 'm\ufffd' });
  });
});
