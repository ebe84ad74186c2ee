/**
 * One authenticated bank connection, as the federation sees it: a way to send frames,
 * a way to close, what the bank said in its hello, and byte counters. The WebSocket
 * plugin creates it; the federation never touches `ws` directly.
 */
import { BANK_FEATURES, type Hello } from '@finsecure/common/protocol';

export interface BankConnection {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes sent and not yet taken by the network (ws bufferedAmount); 0 if unknown. */
  queuedBytes?(): number;
}

/** The cap on what may wait for a bank that does not read, and who hears of a cut. */
export interface SendQueue {
  limitBytes: number;
  /** The connection was cut: `queuedBytes` (over the limit) were waiting when another frame was to go. */
  onFull(queuedBytes: number): void;
}

/** Close code of a bank cut for not reading (RFC 6455 1013, "try again later"). */
export const NOT_READING_CLOSE = 1013;

/**
 * Bytes the aggregator may hold queued for one bank that is not reading (the socket's
 * bufferedAmount) before it cuts the connection at the next frame: four model frames (a round sends at most three
 * in full: the assignment, the evaluation request and the commit) and never under 8 MiB. Why: a
 * bank that stops reading but keeps sending heartbeats otherwise grows the aggregator's memory by
 * every frame it is sent, without bound.
 * @param parameters the model's parameter count (float32 on the wire: 4 bytes each)
 * @returns a byte count
 */
export function sendQueueLimitBytes(parameters: number): number {
  return Math.max(8 * 1024 * 1024, 4 * (4 * parameters + 64 * 1024));
}

export class BankSession {
  readonly connectedAt: number;
  lastMessageAt: number;
  bytesUp = 0;
  bytesDown = 0;
  /**
   * A frame went to this bank since the last heartbeat sweep: it heard from us within the
   * interval, so the next sweep sends it no heartbeat (see BankSessions.sweep).
   */
  sentSinceSweep = false;
  /**
   * The model version this connection is known to hold: the last one sent to it in full, or the
   * candidate it evaluated once that was committed. null: none known, so send the weights. Only
   * for a bank that keeps them (`modelByReference`); a new connection starts at null.
   */
  heldModel: number | null = null;
  /** The round whose candidate this connection evaluated (its evaluation was accepted). */
  evaluatedRound: number | null = null;
  /** The bank listed BANK_FEATURES.modelByReference in its hello. */
  readonly modelByReference: boolean;
  /** Cut for not reading (sendQueue): nothing more is sent. */
  private cut = false;

  constructor(
    readonly bankId: string,
    readonly hello: Hello,
    private readonly conn: BankConnection,
    now: number,
    /** Called for every frame sent with send() (the frame rate limiter credits the bank one answer). */
    private readonly onSend?: () => void,
    private readonly sendQueue?: SendQueue,
  ) {
    this.connectedAt = now;
    this.lastMessageAt = now;
    this.modelByReference = hello.features?.includes(BANK_FEATURES.modelByReference) ?? false;
  }

  /**
   * Sends a frame and returns its size, so callers can attribute bytes to a round. The bank may
   * answer it ahead of its frame rate limit (trust/rate-limit.ts credits).
   */
  send(frame: Uint8Array): number {
    this.onSend?.();
    return this.reply(frame);
  }

  /**
   * Sends a frame that answers one of the bank's own (an error, a refusal): no credit. Why: a
   * credit per such answer let a bank buy itself an unlimited rate, one garbage frame paying for
   * the next with the error it drew.
   */
  reply(frame: Uint8Array): number {
    if (this.cut) return 0;
    const queued = this.conn.queuedBytes?.() ?? 0;
    // What already waits, not counting this frame: one frame larger than the cap still goes.
    if (this.sendQueue && queued > this.sendQueue.limitBytes) {
      this.cut = true;
      this.conn.close(NOT_READING_CLOSE, `not reading fast enough: over ${this.sendQueue.limitBytes} bytes queued`);
      this.sendQueue.onFull(queued);
      return 0;
    }
    this.conn.send(frame);
    this.sentSinceSweep = true;
    this.bytesDown += frame.byteLength;
    return frame.byteLength;
  }

  close(code: number, reason: string): void {
    this.conn.close(code, reason);
  }
}
