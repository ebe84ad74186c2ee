/**
 * Bearer-token roles for the REST API. Viewers may read everything the dashboard shows;
 * only admins may change anything. Tokens are compared through their hashes in
 * constant time (ApiAuth), and the Authorization header is redacted from logs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Role } from '../../auth/tokens.js';
import type { ServerContext } from '../context.js';

declare module 'fastify' {
  interface FastifyRequest {
    role: Role | null;
  }
  interface FastifyInstance {
    requireViewer: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1] : undefined;
}

export default fp(
  async (app, ctx: ServerContext) => {
    app.decorateRequest('role', null);
    app.addHook('onRequest', async (req) => {
      req.role = ctx.auth.roleOf(bearer(req.headers.authorization));
    });
    app.decorate('requireViewer', async (req: FastifyRequest, reply: FastifyReply) => {
      if (!req.role) {
        await reply
          .code(401)
          .send({ error: 'unauthorized', message: 'send "Authorization: Bearer <admin or viewer token>"' });
      }
    });
    app.decorate('requireAdmin', async (req: FastifyRequest, reply: FastifyReply) => {
      if (!req.role) {
        await reply.code(401).send({ error: 'unauthorized', message: 'send "Authorization: Bearer <admin token>"' });
      } else if (req.role !== 'admin') {
        await reply
          .code(403)
          .send({ error: 'forbidden', message: 'this action needs the admin token; viewers can only read' });
      }
    });
    app.get(
      '/api/whoami',
      { schema: { tags: ['system'], summary: 'The role the presented token grants (admin, viewer) or 401' } },
      async (req, reply) => {
        if (!req.role) return reply.code(401).send({ error: 'unauthorized', message: 'unknown or missing token' });
        return { role: req.role };
      },
    );
  },
  { name: 'finsecure-auth' },
);
