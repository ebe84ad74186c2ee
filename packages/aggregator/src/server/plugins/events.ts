/**
 * /ws/events: the dashboard's live stream. Browsers cannot set headers on a WebSocket,
 * and a token in the URL would end up in access logs, so the first text message must
 * be `{"token": "..."}`. The server answers with a snapshot, then pushes LiveEvents.
 */
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { ServerContext } from '../context.js';
import { epsilonReplacer } from '../epsilon.js';

export default async function events(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  // Public at the HTTP layer: a browser's session cookie is checked by the auth hook on the
  // upgrade (req.principal); other clients send a token in the first message.
  const route = {
    config: { permission: 'public' as const },
    websocket: true as const,
    schema: { hide: true } as never,
  };
  app.get('/ws/events', route, (socket: WebSocket, req) => {
    let unsubscribe: (() => void) | null = null;
    const timer = setTimeout(() => socket.close(4001, 'no token within 10 s'), 10_000);
    socket.on('message', (data: Buffer) => {
      if (unsubscribe) return;
      let token: unknown;
      try {
        token = JSON.parse(data.toString('utf8')).token;
      } catch {
        /* handled below */
      }
      const signedIn = req.principal?.permissions.has('charts.read') ? req.principal.role : null;
      const role = signedIn ?? (typeof token === 'string' ? ctx.auth.roleOf(token) : null);
      clearTimeout(timer);
      if (!role) {
        socket.close(4001, 'unauthorized: send {"token": "<admin or viewer token>"} first');
        return;
      }
      const send = (obj: unknown) => {
        // epsilonReplacer: ε = ∞ is sent as "Infinity", not null (= no DP).
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(obj, epsilonReplacer));
      };
      send({ type: 'hello', role });
      send({ type: 'status', status: ctx.federation.status() });
      unsubscribe = ctx.events.subscribe(send);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      unsubscribe?.();
    });
    socket.on('error', () => {});
  });
}
