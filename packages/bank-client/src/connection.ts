/**
 * One attempt at a connection to the aggregator (client.ts owns the daemon's policy: the hello,
 * what a close means, when to try again). An attempt opens a WebSocket, passes the binary frames
 * on, and ends with exactly one `closed` call that carries why it failed when the aggregator never
 * welcomed it: an HTTP answer other than the upgrade, a socket or TLS error, a close before the
 * welcome, or no welcome within `welcomeTimeoutMs` (connect-failure.ts words each of them).
 * Also the reconnection delay: exponential backoff with "equal jitter".
 */
import WebSocket from 'ws';
import type { Rng } from '@finsecure/common/rng';
import {
  failureOfEarlyClose,
  failureOfError,
  failureOfNoWelcome,
  failureOfResponse,
  shownUrl,
  type ConnectFailure,
} from './connect-failure.js';

/** The largest frame the bank accepts from the aggregator, bytes (a global model with its header). */
export const MAX_SERVER_FRAME_BYTES = 256 * 1024 * 1024;
/** How long the TCP, TLS and HTTP upgrade may take before the attempt fails, ms. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface AttemptOptions {
  /** ws:// or wss:// URL of the aggregator's /ws/bank. */
  server: string;
  /** Extra CA certificates (PEM) to trust for wss://. */
  ca?: Buffer;
  /** Past this long after the socket opened without a welcome, the attempt fails, ms. */
  welcomeTimeoutMs: number;
}

export interface AttemptHandlers {
  /** The socket is open: the place to send the hello. */
  open(ws: WebSocket): void;
  /** A binary frame from the aggregator on `ws` (text frames are ignored). */
  frame(ws: WebSocket, bytes: Uint8Array): void;
  /** Whether the aggregator has welcomed this attempt (it is then a connection, not an attempt). */
  welcomed(): boolean;
  /** An error on a welcomed connection (its 'close' follows). */
  error(err: Error): void;
  /**
   * The socket closed; called once. `failure`: why, when it was never welcomed (else null).
   */
  closed(code: number, reason: string, failure: ConnectFailure | null): void;
}

/**
 * Opens one attempt. Its listeners live as long as the socket; `handlers.closed` is its end.
 * @throws Error when `server` is not a URL ws can open, without repeating it (it may hold a
 * user name and password; connect-failure.ts `shownUrl`).
 */
export function openAttempt(opts: AttemptOptions, handlers: AttemptHandlers): WebSocket {
  const { server } = opts;
  let ws: WebSocket;
  try {
    ws = new WebSocket(server, {
      maxPayload: MAX_SERVER_FRAME_BYTES,
      ...(opts.ca ? { ca: opts.ca } : {}),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
  } catch (err) {
    // ws's own message quotes the whole URL. The config refuses such a URL at start-up; this guard
    // is for a BankClient given a config that never went through loadBankConfig.
    throw new Error(`cannot connect to ${shownUrl(server)}: not a valid ws:// or wss:// URL (${(err as Error).name})`);
  }
  ws.binaryType = 'nodebuffer';
  /** Why this attempt failed, from the first sign of it (an HTTP answer, an error); null: none yet. */
  let failure: ConnectFailure | null = null;
  // An HTTP answer other than the upgrade: ws hands over the request and the response when this
  // is listened to, and leaves ending them to us. The status is the cause; the body is not read.
  // terminate() aborts the request and destroys the socket, after which ws emits 'error' ("closed
  // before the connection was established", ignored: the cause is already known) and 'close'.
  ws.on('unexpected-response', (_req, res) => {
    failure = failureOfResponse(server, res.statusCode ?? 0, res.headers.location);
    res.resume();
    ws.terminate();
  });
  let welcomeTimer: NodeJS.Timeout | null = null;
  ws.on('open', () => {
    handlers.open(ws);
    // A server that takes the socket and never answers the hello (another service's WebSocket,
    // a hung aggregator) would hold the daemon for ever, heartbeats starting only at the welcome:
    // past welcomeTimeoutMs the attempt counts as failed, and the next one is scheduled.
    welcomeTimer = setTimeout(() => {
      if (handlers.welcomed() || ws.readyState !== WebSocket.OPEN) return;
      failure ??= failureOfNoWelcome(server, opts.welcomeTimeoutMs);
      ws.terminate();
    }, opts.welcomeTimeoutMs);
  });
  ws.on('message', (raw: Buffer, isBinary: boolean) => {
    if (isBinary) handlers.frame(ws, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  });
  ws.on('close', (code: number, reasonBuf: Buffer) => {
    if (welcomeTimer) clearTimeout(welcomeTimer);
    const reason = reasonBuf.toString();
    handlers.closed(code, reason, handlers.welcomed() ? null : (failure ?? failureOfEarlyClose(server, code, reason)));
  });
  ws.on('error', (err: Error) => {
    if (handlers.welcomed()) handlers.error(err);
    // Before the welcome, an error is the cause of the failed attempt the 'close' after it reports.
    else failure ??= failureOfError(server, err, { caFile: opts.ca !== undefined });
  });
  return ws;
}

/**
 * Delays between attempts: exponential from `minMs`, capped at `maxMs`, with "equal jitter" (half
 * fixed, half random), so that a restarted aggregator is not hit by every bank at once
 * (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    /** Not seeded in the daemon: banks started together must not reconnect in lockstep. */
    private readonly jitter: Rng,
  ) {}

  /** Attempts since the last reset (0: the first is due, or the last one was welcomed). */
  get attempts(): number {
    return this.attempt;
  }

  /** The next delay, ms; each call counts one attempt. */
  next(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt++;
    return Math.round(base / 2 + this.jitter.next() * (base / 2));
  }

  /** Back off at least as hard as after `attempts` failures (another daemon took this bank's place). */
  atLeast(attempts: number): void {
    this.attempt = Math.max(this.attempt, attempts);
  }

  /** Welcomed: the next failure starts again from `minMs`. */
  reset(): void {
    this.attempt = 0;
  }
}
