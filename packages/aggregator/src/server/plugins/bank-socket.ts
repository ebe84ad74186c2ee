/**
 * /ws/bank: where bank clients connect. The first frame must be a valid hello with a
 * correct token, within `helloTimeoutMs`; otherwise the socket is closed with an
 * application close code and reason, and the attempt is audited. After that every
 * frame goes to the federation. Frames over the size limit are refused by `ws` itself
 * (maxPayload) before they are buffered.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import {
  ClientMessage,
  CloseCode,
  decodeFrame,
  encodeFrame,
  isFrameError,
  type Hello,
} from '@finsecure/common/protocol';
import type { BankSession } from '../../federation/session.js';
import type { ServerContext } from '../context.js';

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export default async function bankSocket(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { federation, logger, config } = ctx;

  // Connections that have not authenticated yet are cheap to open and expensive to hold:
  // cap how many may wait, and how large their first frame may be.
  let unauthenticated = 0;
  const MAX_UNAUTHENTICATED = 256;
  const MAX_HELLO_BYTES = 64 * 1024;

  // Public at the HTTP layer: the bank authenticates with its own token in the hello.
  const route = {
    config: { permission: 'public' as const },
    websocket: true as const,
    schema: { hide: true } as never,
  };
  app.get('/ws/bank', route, (socket: WebSocket, req) => {
    const remote = req.ip;
    if (unauthenticated >= MAX_UNAUTHENTICATED) {
      safeClose(socket, 1013, 'too many connections waiting to authenticate; retry later');
      return;
    }
    unauthenticated++;
    let counted = true;
    const authenticated = () => {
      if (counted) unauthenticated--;
      counted = false;
    };
    let session: BankSession | null = null;
    let authenticating = false;
    let closed = false;
    const helloTimer = setTimeout(() => {
      if (!session && !authenticating)
        safeClose(socket, CloseCode.BadHello, `no hello within ${config.helloTimeoutMs} ms`);
    }, config.helloTimeoutMs);

    /**
     * A bank that proved its identity but cannot join (schema, protocol, revoked) is a
     * `bank.refused` entry under its id; anything else is `auth.failed`, and its actor is never
     * the id the client claimed (anyone can claim "admin").
     */
    const refuse = async (code: number, reason: string, details: { bankId?: string; kind?: string }) => {
      logger.warn({ remote, ...details, reason }, 'bank connection refused');
      const identified = details.kind !== undefined && details.kind !== 'credentials' && details.bankId;
      const type = identified ? 'bank.refused' : 'auth.failed';
      const actor = identified
        ? details.bankId!
        : `unauthenticated${details.bankId ? ` (claimed ${JSON.stringify(details.bankId.slice(0, 64))})` : ''}`;
      await federation.audit(type, actor, { remote, reason, ...details }).catch(() => {});
      safeClose(socket, code, reason);
    };

    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = toBytes(data);
      if (session) {
        if (!isBinary) {
          const message = 'text frames are not part of the protocol; send binary frames';
          session.send(encodeFrame({ type: 'error', code: 'bad_frame', message }));
          return;
        }
        void federation.handleFrame(session, bytes);
        return;
      }
      if (authenticating) return; // one hello at a time
      authenticating = true;
      if (bytes.byteLength > MAX_HELLO_BYTES) {
        void refuse(
          CloseCode.BadHello,
          `bad hello: ${bytes.byteLength} bytes, a hello is at most ${MAX_HELLO_BYTES}`,
          {},
        ).catch(() => {});
        return;
      }
      // A well-formed hello arrived in time: a slow store must not turn it into a timeout.
      clearTimeout(helloTimer);
      let hello: Hello;
      try {
        const { msg } = decodeFrame(bytes, ClientMessage, { maxBytes: config.maxFrameBytes });
        if (msg.type !== 'hello') throw new Error(`first message must be "hello", got "${msg.type}"`);
        hello = msg;
      } catch (err) {
        void refuse(CloseCode.BadHello, `bad hello: ${describeHelloError(err)}`, {}).catch(() => {});
        return;
      }
      void (async () => {
        const result = await federation.authenticate(hello);
        if (!result.ok) {
          const incompatible = result.kind === 'schema' || result.kind === 'protocol';
          await refuse(incompatible ? CloseCode.Incompatible : CloseCode.Unauthorized, result.reason, {
            bankId: hello.bankId,
            kind: result.kind,
          });
          return;
        }
        if (closed) return;
        const attached = await federation.attach(hello, {
          send: (frame) => {
            if (socket.readyState === socket.OPEN) socket.send(frame, { binary: true });
          },
          close: (code, reason) => safeClose(socket, code, reason),
        });
        if (!attached) return;
        session = attached;
        authenticated();
        // The socket may have closed while attach() was queued: do not leave a ghost behind.
        if (closed) void federation.detach(attached, 'socket closed while joining');
      })().catch((err) => {
        logger.error({ err }, 'bank authentication failed unexpectedly');
        safeClose(socket, 1011, 'internal error');
      });
    });

    socket.on('close', (code: number, reason: Buffer) => {
      closed = true;
      authenticated();
      clearTimeout(helloTimer);
      if (session)
        void federation.detach(session, `socket closed ${code}${reason.length ? `: ${reason.toString()}` : ''}`);
    });
    socket.on('error', (err: Error) => logger.warn({ remote, err: err.message }, 'bank socket error'));
  });
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

/**
 * What to say about an undecodable hello. JSON parse errors quote the input, which may
 * hold (part of) a token, so for those only the error code is reported and audited.
 */
function describeHelloError(err: unknown): string {
  if (isFrameError(err))
    return err.code === 'BAD_HEADER_JSON' ? 'BAD_HEADER_JSON: the frame header is not valid JSON' : err.message;
  return err instanceof Error ? err.message : 'unreadable hello';
}
