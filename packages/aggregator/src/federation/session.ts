/**
 * One authenticated bank connection, as the federation sees it: a way to send frames,
 * a way to close, what the bank said in its hello, and byte counters. The WebSocket
 * plugin creates it; the federation never touches `ws` directly.
 */
import { BANK_FEATURES, type Hello } from '@finsecure/common/protocol';

export interface BankConnection {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
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

  constructor(
    readonly bankId: string,
    readonly hello: Hello,
    private readonly conn: BankConnection,
    now: number,
    /** Called for every frame sent (the frame rate limiter credits the bank one answer). */
    private readonly onSend?: () => void,
  ) {
    this.connectedAt = now;
    this.lastMessageAt = now;
    this.modelByReference = hello.features?.includes(BANK_FEATURES.modelByReference) ?? false;
  }

  /** Sends a frame and returns its size, so callers can attribute bytes to a round. */
  send(frame: Uint8Array): number {
    this.conn.send(frame);
    this.sentSinceSweep = true;
    this.onSend?.();
    this.bytesDown += frame.byteLength;
    return frame.byteLength;
  }

  close(code: number, reason: string): void {
    this.conn.close(code, reason);
  }
}
