/**
 * Frame-size limits of the `ws` library, per socket.
 *
 * `ws` checks `maxPayload` as soon as a frame header announces its length, before a byte of
 * the payload is buffered, and closes with 1009. That is the check we want for every
 * socket that has not authenticated: so the WebSocket server is created with
 * `maxPayload` = the hello limit (64 KiB), and only a socket that authenticated as a bank
 * gets the large limit (`maxFrameBytes`, 64 MiB by default).
 *
 * `ws` 8 has no public API to change one socket's limit after the handshake, nor to give
 * the 1009 close a reason. `receiverOf` and `explainOversizeClose` below are the only places
 * that touch its private fields or methods; test/admission-frames.test.ts fails if a `ws` release changes them (a 1 MB
 * first frame must be refused before it is buffered, with the limit in the reason, and an
 * authenticated bank must still be able to send a 10 MB frame).
 */
import type { WebSocket } from 'ws';

/** The largest hello (and any frame from a socket that has not authenticated), in bytes. */
export const MAX_HELLO_BYTES = 64 * 1024;

/**
 * Most fragments of one message. `ws` keeps each fragment as its own Buffer until the message
 * is complete: a 64 KiB hello sent as 1-byte fragments would cost ~65,000 Buffer objects
 * (megabytes per socket; 1,023 fragments per socket × 256 sockets measured +25 MB RSS in
 * bench/preauth-memory.ts). The bank client never fragments (one frame per message).
 */
export const MAX_FRAGMENTS = 256;

/**
 * Most TCP reads `ws` may hold while a frame is incomplete, before authentication. Each read is
 * its own Buffer: a 64 KiB hello trickled one byte per TCP segment could be ~65,000 of them.
 * An honest hello (a few KB, one write) arrives in one or a few reads. Raised to unlimited
 * (the `ws` default) after authentication, where a 64 MiB update arrives in thousands of reads.
 */
export const MAX_BUFFERED_CHUNKS_BEFORE_AUTH = 1024;

/** Options of the `ws` server behind @fastify/websocket: the pre-authentication limits. */
export function preAuthServerOptions(maxFrameBytes: number): {
  maxPayload: number;
  maxFragments: number;
  maxBufferedChunks: number;
} {
  return {
    maxPayload: Math.min(MAX_HELLO_BYTES, maxFrameBytes),
    maxFragments: MAX_FRAGMENTS,
    maxBufferedChunks: MAX_BUFFERED_CHUNKS_BEFORE_AUTH,
  };
}

interface ReceiverInternals {
  _maxPayload: number;
  _maxBufferedChunks: number;
}

function receiverOf(socket: WebSocket): ReceiverInternals {
  // PRIVATE ws fields: WebSocket#_receiver (lib/websocket.js, setSocket), Receiver#_maxPayload
  // (lib/receiver.js, checked in haveLength() before buffering) and Receiver#_maxBufferedChunks
  // (checked in _write()).
  const receiver = (socket as unknown as { _receiver?: Partial<ReceiverInternals> })._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number' || typeof receiver._maxBufferedChunks !== 'number')
    throw new Error(
      'ws internals changed: WebSocket#_receiver._maxPayload or _maxBufferedChunks not found; ' +
        'update server/admission/ws-limits.ts',
    );
  return receiver as ReceiverInternals;
}

/** The frame-size limit `ws` applies to this socket now, in bytes. */
export function frameLimit(socket: WebSocket): number {
  return receiverOf(socket)._maxPayload;
}

/**
 * Sets this socket's frame-size limit (bytes): called once a bank has authenticated, to raise
 * it from the hello limit to `maxFrameBytes` (and lift the pre-authentication cap on buffered
 * reads). Takes effect from the next frame header.
 * Throws if `ws` no longer has the field (caught by the caller: the bank is refused with 1011
 * rather than silently kept at the hello limit).
 */
export function setFrameLimit(socket: WebSocket, maxBytes: number): void {
  const receiver = receiverOf(socket);
  receiver._maxPayload = maxBytes;
  receiver._maxBufferedChunks = 0; // unlimited, the ws default
}

/**
 * Gives the 1009 close that `ws` sends for an oversized frame a reason (it sends none):
 * `ws` calls this socket's own `close(1009)` from its receiver's error handler, so the
 * instance's `close` is wrapped to fill in `reason(limit)` when a 1009 comes without one.
 */
export function explainOversizeClose(socket: WebSocket, reason: (limitBytes: number) => string): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, data?: string | Buffer): void => {
    if (code === 1009 && (data === undefined || data.length === 0)) {
      let text = reason(frameLimit(socket));
      while (Buffer.byteLength(text, 'utf8') > 123) text = text.slice(0, -1);
      close(code, text);
      return;
    }
    close(code, data);
  };
}

/** Whether an error a `ws` socket emitted is a protocol error `ws` already answered with a close. */
export function isWsProtocolError(err: unknown): err is Error & { code: string } {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

/**
 * @fastify/websocket's `errorHandler`: its default logs every socket error at error level and
 * terminates the socket, so a flood of oversized or malformed frames (or resets) from
 * anonymous clients became a flood of error lines. Errors `ws` already answered with a close
 * (WS_ERR_*) and network errors (ECONNRESET, EPIPE...) are left to the route's own 'error'
 * listener, which reports them aggregated; anything else (a handler that threw) is a bug:
 * logged, and the socket terminated.
 */
export function socketErrorHandler(
  error: Error,
  socket: WebSocket,
  request: { log: { error: (obj: unknown, msg: string) => void } },
): void {
  if (isWsProtocolError(error)) return;
  if (typeof (error as { code?: unknown }).code !== 'string')
    request.log.error({ err: error }, 'bank or event socket handler failed');
  socket.terminate();
}
