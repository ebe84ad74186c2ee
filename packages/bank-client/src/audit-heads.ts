/**
 * The heads of the aggregator's audit chain this bank was sent with its round
 * assignments, kept in `<state-dir>/audit-heads.jsonl` (one JSON object per line,
 * appended, never rewritten). The aggregator cannot reach this file, so it proves any
 * later truncation or rewrite of its log: `finsecure-aggregator audit verify --bank-heads
 * <file>` checks the chain reaches every head in it. A head that goes backwards is
 * logged at once.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

export const AUDIT_HEADS_FILE = 'audit-heads.jsonl';

export class AuditHeadLog {
  private last: { seq: number; hash: string } | null = null;
  readonly file: string;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
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
      mkdirSync(path.dirname(this.file), { recursive: true });
      appendFileSync(this.file, `${JSON.stringify({ at, roundId, seq: head.seq, hash: head.hash })}\n`, {
        mode: 0o600,
      });
    } catch (err) {
      this.logger.warn({ err, file: this.file }, 'could not keep the audit head');
    }
  }
}
