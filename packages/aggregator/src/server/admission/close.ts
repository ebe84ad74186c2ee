/**
 * Closing bank sockets: never throwing, and never waiting long on a peer that was refused.
 */
import type { WebSocket } from 'ws';

/** How long a peer gets to answer our close frame before the socket is destroyed. */
const REFUSED_CLOSE_GRACE_MS = 1_000;

/**
 * Closes a socket the aggregator is done with (a refused peer, or a bank's session it ends: a
 * revocation, a rotated token, a shutdown): the close frame with the reason, then, if the peer
 * does not complete the closing handshake within a second, the TCP connection (`ws` would
 * otherwise wait 30 s, holding the socket for whoever never answers).
 */
export function refuseNow(socket: WebSocket, code: number, reason: string): void {
  safeClose(socket, code, reason);
  setTimeout(() => {
    if (socket.readyState !== socket.CLOSED) socket.terminate();
  }, REFUSED_CLOSE_GRACE_MS).unref();
}

/**
 * Closes with a reason that fits the WebSocket limit (123 bytes of UTF-8), never throwing:
 * `ws` throws on a longer reason, and a throw here must not take the aggregator down.
 */
export function safeClose(socket: WebSocket, code: number, reason: string): void {
  let r = reason;
  while (Buffer.byteLength(r, 'utf8') > 123) r = r.slice(0, -1);
  try {
    socket.close(code, r);
  } catch {
    socket.terminate();
  }
}
