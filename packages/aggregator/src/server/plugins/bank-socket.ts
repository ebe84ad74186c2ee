/**
 * /ws/bank: where bank clients connect. The first frame must be a valid hello with a
 * correct token; after that every frame goes to the federation. Before a connection has
 * authenticated it is cheap to open and must stay cheap to hold (server/admission/):
 *
 * - Size: every socket starts with the hello limit (64 KiB), which `ws` checks when a frame
 *   header announces its length, before buffering it, plus caps on fragments and on buffered
 *   TCP reads; only an authenticated bank's socket is raised to `maxFrameBytes`
 *   (admission/ws-limits.ts). Oversized frames close with 1009 and the limit in the reason.
 * - Count: per remote address (IPv6: per /64) at most `maxConnectionsPerAddress` sockets and
 *   `maxUnauthenticatedPerAddress` waiting to authenticate; at most `maxUnauthenticated`
 *   waiting in all, and when that pool is full the oldest waiting socket of the busiest
 *   address makes room (a bank is never locked out by a full pool).
 * - Time: `helloTimeoutMs` for addresses a bank has authenticated from,
 *   `unknownPeerHelloTimeoutMs` (shorter) for everyone else.
 * - Failures: after `bankLoginMaxFailures` failed logins (bad credentials, bad hellos, hello
 *   timeouts, oversized first frames) from an address within `bankLoginWindowMs`, its new
 *   sockets are closed at once with 1008 and the wait, without reading a hello (the REST
 *   sign-in policy, applied to the socket).
 * - Records: refusals, hello timeouts, text frames, frames before the welcome and a second
 *   hello are audited; identical ones from one address within `refusalAuditWindowMs` are one
 *   entry plus one summary with a count (same for log lines). A refused hello's actor is
 *   "unauthenticated (claimed …)", never the id the client claimed.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import {
  ClientMessage,
  CloseCode,
  decodeFrame,
  encodeFrame,
  isAnalyticsFrame,
  isFrameError,
  type Hello,
} from '@finsecure/common/protocol';
import type { BankSession } from '../../federation/session.js';
import { addressKey } from '../admission/address.js';
import { refuseNow, safeClose } from '../admission/close.js';
import { ConnectionTable } from '../admission/connection-table.js';
import { FailedLogins } from '../admission/failed-logins.js';
import { KnownAddresses } from '../admission/known-addresses.js';
import { RefusalLog, type Refusal } from '../admission/refusal-log.js';
import { explainOversizeClose, isWsProtocolError, MAX_HELLO_BYTES, setFrameLimit } from '../admission/ws-limits.js';
import type { ServerContext } from '../context.js';
import { afterReads } from '../../federation/clock.js';

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Where banks open their socket (the daemon's `--server` URL ends with it). */
export const BANK_SOCKET_PATH = '/ws/bank';

export default async function bankSocket(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { federation, logger, config, clock } = ctx;
  const now = () => clock.now();
  const table = new ConnectionTable<WebSocket>(config);
  const logins = new FailedLogins({ maxFailures: config.bankLoginMaxFailures, windowMs: config.bankLoginWindowMs });
  const known = new KnownAddresses();
  const records = new RefusalLog({
    audit: (type, actor, details) => federation.audit(type, actor, details),
    logger,
    windowMs: config.refusalAuditWindowMs,
    now,
  });
  const flushTimer = clock.setInterval(() => void records.flush(), Math.min(5_000, config.refusalAuditWindowMs));
  (flushTimer as { unref?: () => void }).unref?.();
  app.addHook('onClose', async () => {
    clock.clearInterval(flushTimer);
    await records.drain();
  });
  const helloLimit = Math.min(MAX_HELLO_BYTES, config.maxFrameBytes);

  // Public at the HTTP layer: the bank authenticates with its own token in the hello.
  const route = {
    config: { permission: 'public' as const },
    websocket: true as const,
    schema: { hide: true } as never,
  };
  app.get(BANK_SOCKET_PATH, route, (socket: WebSocket, req) => {
    const remote = addressKey(req.ip);
    let session: BankSession | null = null;
    let authenticating = false;
    let refused = false; // refused and closing: what it still sends is not worth recording
    let claimed: string | undefined;
    let closed = false;
    explainOversizeClose(socket, (limit) =>
      session
        ? `frame over the ${limit}-byte limit (maxFrameBytes)`
        : `frame over the ${limit}-byte hello limit; authenticate first`,
    );
    const actor = () =>
      session
        ? session.bankId
        : `unauthenticated${claimed ? ` (claimed ${JSON.stringify(claimed.slice(0, 64))})` : ''}`;
    const record = (r: Omit<Refusal, 'remote' | 'actor'> & { actor?: string }) =>
      records.report({ actor: actor(), remote, ...r });

    const blocked = logins.check(remote, now());
    if (!blocked.ok) {
      const reason = `too many failed logins from your address; retry in ${Math.ceil(blocked.retryInMs / 1000)} s`;
      record({ type: 'connection.refused', category: 'login_rate', reason, message: 'bank connection refused' });
      refuseNow(socket, 1008, reason);
      return;
    }
    const admitted = table.admit(remote, socket);
    if (!admitted.ok) {
      record({
        type: 'connection.refused',
        category: admitted.limit,
        reason: admitted.reason,
        message: 'bank connection refused',
      });
      refuseNow(socket, 1013, admitted.reason);
      return;
    }
    if (admitted.evict) {
      const reason = `evicted: too many connections waiting to authenticate (limit ${config.maxUnauthenticated}); retry later`;
      records.report({
        type: 'connection.refused',
        actor: 'unauthenticated',
        remote: admitted.evict.address,
        category: 'evicted',
        reason,
        message: 'waiting connection evicted',
      });
      refuseNow(admitted.evict.conn, 1013, reason);
    }

    const helloTimeoutMs = known.has(remote)
      ? config.helloTimeoutMs
      : Math.min(config.unknownPeerHelloTimeoutMs, config.helloTimeoutMs);
    const timeOut = () => {
      if (session || authenticating || closed) return;
      const reason = `no hello within ${helloTimeoutMs} ms`;
      logins.fail(remote, now());
      record({ type: 'hello.timeout', category: 'hello_timeout', reason, message: 'bank connection timed out' });
      refused = true;
      refuseNow(socket, CloseCode.BadHello, reason);
    };
    // A timer that fires late (the event loop was held) runs before the sockets are read: a hello
    // that came meanwhile is still unread. The verdict then waits for this turn's reads.
    const helloTimer = clock.setTimeout(afterReads(clock, now() + helloTimeoutMs, timeOut), helloTimeoutMs);

    /**
     * A bank that proved its identity but cannot join (schema, protocol, revoked) is a
     * `bank.refused` entry under its id; anything else is `auth.failed` and counts as a
     * failed login of the address.
     */
    const refuse = (code: number, reason: string, category: string, bankId?: string) => {
      const identified = category !== 'credentials' && category !== 'bad_hello' && bankId !== undefined;
      if (!identified) logins.fail(remote, now());
      record({
        type: identified ? 'bank.refused' : 'auth.failed',
        ...(identified ? { actor: bankId } : {}),
        category,
        reason,
        message: 'bank connection refused',
        details: identified || !bankId ? { kind: category } : { kind: category, bankId: bankId.slice(0, 64) },
      });
      refused = true;
      refuseNow(socket, code, reason);
    };

    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = toBytes(data);
      if (session) {
        if (!isBinary) {
          const message = 'text frames are not part of the protocol; send binary frames';
          const bank = session;
          void federation.handleTextFrame(bank, bytes, () => {
            record({
              type: 'frame.rejected',
              category: 'text_frame',
              reason: message,
              message: 'text frame from a bank',
            });
            bank.reply(encodeFrame({ type: 'error', code: 'bad_frame', message }));
          });
          return;
        }
        // Analytics jobs (federation/jobs/) take their own frames; everything else is the round's.
        if (isAnalyticsFrame(bytes)) {
          void federation.handleAnalyticsFrame(session, bytes);
          return;
        }
        // A second hello is answered and audited by the federation (frames.ts): no second decode here.
        void federation.handleFrame(session, bytes);
        return;
      }
      if (refused) return;
      if (authenticating) {
        // One hello at a time: whatever comes before the welcome is dropped, and recorded.
        record({
          type: 'frame.rejected',
          category: 'before_welcome',
          reason: 'frame sent before the welcome (a second hello?); dropped',
          message: 'frame before the welcome',
        });
        return;
      }
      authenticating = true;
      table.helloReceived(socket);
      // A well-formed hello arrived in time: a slow store must not turn it into a timeout.
      clock.clearTimeout(helloTimer);
      if (!isBinary) {
        refuse(CloseCode.BadHello, 'bad hello: a text frame; the hello is a binary frame', 'bad_hello');
        return;
      }
      let hello: Hello;
      try {
        const { msg } = decodeFrame(bytes, ClientMessage, { maxBytes: helloLimit });
        if (msg.type !== 'hello') throw new Error(`first message must be "hello", got "${msg.type}"`);
        hello = msg;
      } catch (err) {
        refuse(CloseCode.BadHello, `bad hello: ${describeHelloError(err)}`, 'bad_hello');
        return;
      }
      claimed = hello.bankId;
      void (async () => {
        const result = await federation.authenticate(hello);
        if (!result.ok) {
          const incompatible = result.kind === 'schema' || result.kind === 'protocol' || result.kind === 'statistics';
          refuse(
            incompatible ? CloseCode.Incompatible : CloseCode.Unauthorized,
            result.reason,
            result.kind,
            hello.bankId,
          );
          return;
        }
        if (closed) return;
        // Before the welcome: the bank may send a large update right after it.
        setFrameLimit(socket, config.maxFrameBytes);
        const attached = await federation.attach(hello, {
          send: (frame) => {
            if (socket.readyState === socket.OPEN) socket.send(frame, { binary: true });
          },
          queuedBytes: () => socket.bufferedAmount,
          // Cut if the peer does not answer the close within a second (ws would wait 30 s).
          close: (code, reason) => refuseNow(socket, code, reason),
        });
        if (!attached) return;
        session = attached;
        table.authenticated(socket);
        known.add(remote);
        // The socket may have closed while attach() was queued: do not leave a ghost behind.
        if (closed) void federation.detach(attached, 'socket closed while joining');
      })().catch((err) => {
        logger.error({ err }, 'bank authentication failed unexpectedly');
        safeClose(socket, 1011, 'internal error');
      });
    });

    socket.on('close', (code: number, reason: Buffer) => {
      closed = true;
      table.release(socket);
      clock.clearTimeout(helloTimer);
      if (session)
        void federation.detach(session, `socket closed ${code}${reason.length ? `: ${reason.toString()}` : ''}`);
    });
    socket.on('error', (err: Error) => {
      if (!isWsProtocolError(err)) {
        record({
          type: 'socket.error',
          category: 'error',
          reason: err.message,
          message: 'bank socket error',
          logOnly: true,
        });
        return;
      }
      // ws has already closed the socket (1009 oversized, with the limit: explainOversizeClose; 1002/1008 others).
      const oversize = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
      const category = oversize ? 'oversize' : 'ws_protocol';
      if (session) {
        const message = oversize ? 'oversized frame from a bank' : 'WebSocket protocol error from a bank';
        record({ type: 'frame.rejected', category, reason: `${err.code}: ${err.message}`, message });
        return;
      }
      // ws sends its close frame, ends its side, then waits up to 30 s for the peer's close frame,
      // reading (and discarding) whatever it sends meanwhile, at line rate. Stop reading (ws resumes
      // the socket in a nextTick queued before this event; ours runs after it, before any read) and
      // drop the connection after a second, long enough for the close frame to be read (closing
      // with unread input sends a reset, which can discard it at the peer).
      refused = true;
      process.nextTick(() => socket.pause());
      setTimeout(() => socket.terminate(), 1_000).unref();
      logins.fail(remote, now());
      const reason = oversize
        ? `frame over the ${helloLimit}-byte hello limit before authentication`
        : `${err.code}: ${err.message}`;
      record({ type: 'auth.failed', category, reason, message: 'bank connection refused' });
    });
  });
}

/**
 * What to say about an undecodable hello. JSON parse errors quote the input, which may
 * hold (part of) a token, so for those only the error code is reported and audited.
 */
function describeHelloError(err: unknown): string {
  if (isFrameError(err))
    return err.code === 'BAD_HEADER_JSON' ? 'BAD_HEADER_JSON: the frame header is not valid JSON' : err.message;
  return err instanceof Error ? err.message : 'unreadable hello';
}
