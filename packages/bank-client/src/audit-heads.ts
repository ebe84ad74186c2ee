/**
 * The heads of the aggregator's audit chain this bank was sent with its round
 * assignments, kept in `<state-dir>/audit-heads.jsonl` (one JSON object per line,
 * appended, never rewritten). The aggregator cannot reach this file, so it proves any
 * later truncation or rewrite of its log: `finsecure-aggregator audit verify --bank-heads
 * <file>` checks the chain reaches every head in it. A head that goes backwards is
 * logged at once. When the bank state is encrypted (state-crypto), each line is one sealed
 * record in base64; `finsecure-bank audit-heads` prints them in clear (with the state key) for the verifier.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { appendStateLine, cipherFor, readStateLines, type StateCipher } from './state-crypto/index.js';

export const AUDIT_HEADS_FILE = 'audit-heads.jsonl';

export class AuditHeadLog {
  private last: { seq: number; hash: string } | null = null;
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
    private readonly cipher: StateCipher = cipherFor(stateDir),
  ) {
    this.file = path.join(stateDir, AUDIT_HEADS_FILE);
  }

  /** Appends one head; a failure to write is logged, never fatal to training. */
  record(roundId: number, head: { seq: number; hash: string }, at: number = Date.now()): void {
    const last = this.last;
    if (last && (head.seq < last.seq || (head.seq === last.seq && head.hash !== last.hash))) {
      this.logger.error(
        { roundId, seq: head.seq, lastSeq: last.seq },
        "the aggregator's audit log went backwards or was rewritten since the last round (kept in " + `${this.file})`,
      );
    }
    this.last = { seq: head.seq, hash: head.hash };
    try {
      appendStateLine(this.cipher, this.file, JSON.stringify({ at, roundId, seq: head.seq, hash: head.hash }));
    } catch (err) {
      this.logger.warn({ err, file: this.file }, 'could not keep the audit head');
    }
  }
}

/**
 * The heads recorded in `<stateDir>/audit-heads.jsonl`, opened with the state's cipher. A last head
 * torn by a crash while it was written is left out, and `onTorn` told (readStateLines).
 */
export function readAuditHeads(
  stateDir: string,
  cipher: StateCipher = cipherFor(stateDir),
  onTorn?: (message: string) => void,
): { at: number; roundId: number; seq: number; hash: string }[] {
  return readStateLines(cipher, path.join(stateDir, AUDIT_HEADS_FILE), onTorn).map(
    (l) => JSON.parse(l) as { at: number; roundId: number; seq: number; hash: string },
  );
}
