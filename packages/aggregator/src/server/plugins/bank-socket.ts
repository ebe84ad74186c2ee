/**
 * /ws/bank: where bank clients connect. The first frame must be a valid hello with a
 * correct token, within `helloTimeoutMs`; otherwise the socket is closed with an
 * application close code and reason, and the attempt is audited. After that every
 * frame goes to the federation. Frames over the size limit are refused by `ws` itself
 * (maxPayload) before they are buffered.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { ClientMessage, CloseCode, decodeFrame, encodeFrame, type Hello } from '@finsecure/common/protocol';
import type { BankSession } from '../../federation/session.js';
import type { ServerContext } from '../context.js';

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export default async function bankSocket(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { federation, logger, config } = ctx;

  app.get('/ws/bank', { websocket: true, schema: { hide: true } as never }, (socket: WebSocket, req) => {
    const remote = req.ip;
    let session: BankSession | null = null;
    let authenticating = false;
    const helloTimer = setTimeout(() => {
      if (!session) socket.close(CloseCode.BadHello, `no hello within ${config.helloTimeoutMs} ms`);
    }, config.helloTimeoutMs);

    const refuse = async (code: number, reason: string, details: Record<string, unknown>) => {
      logger.warn({ remote, ...details, reason }, 'bank connection refused');
      await federation
        .audit('auth.failed', typeof details.bankId === 'string' ? details.bankId : 'unknown', {
          remote,
          reason,
          ...details,
        })
        .catch(() => {});
      socket.close(code, reason.slice(0, 120));
    };

    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = toBytes(data);
      if (session) {
        if (!isBinary) {
          session.send(
            encodeFrame({
              type: 'error',
              code: 'bad_frame',
              message: 'text frames are not part of the protocol; send binary frames',
            }),
          );
          return;
        }
        void federation.handleFrame(session, bytes);
        return;
      }
      if (authenticating) return; // one hello at a time
      authenticating = true;
      let hello: Hello;
      try {
        const { msg } = decodeFrame(bytes, ClientMessage, { maxBytes: config.maxFrameBytes });
        if (msg.type !== 'hello') throw new Error(`first message must be "hello", got "${msg.type}"`);
        hello = msg;
      } catch (err) {
        clearTimeout(helloTimer);
        void refuse(CloseCode.BadHello, `bad hello: ${(err as Error).message}`, {});
        return;
      }
      void (async () => {
        const result = await federation.authenticate(hello);
        clearTimeout(helloTimer);
        if (!result.ok) {
          await refuse(CloseCode.Unauthorized, result.reason, { bankId: hello.bankId });
          return;
        }
        if (socket.readyState !== socket.OPEN) return;
        session = await federation.attach(hello, {
          send: (frame) => {
            if (socket.readyState === socket.OPEN) socket.send(frame, { binary: true });
          },
          close: (code, reason) => socket.close(code, reason),
        });
      })().catch((err) => {
        logger.error({ err }, 'bank authentication failed unexpectedly');
        socket.close(1011, 'internal error');
      });
    });

    socket.on('close', (code: number, reason: Buffer) => {
      clearTimeout(helloTimer);
      if (session)
        void federation.detach(session, `socket closed ${code}${reason.length ? `: ${reason.toString()}` : ''}`);
    });
    socket.on('error', (err: Error) => logger.warn({ remote, err: err.message }, 'bank socket error'));
  });
}
