/**
 * Bank registry: create (the token is returned once and only its hash is stored),
 * list with live status, rotate a token, revoke. Every change is audited. One bank's detail
 * (GET /api/banks/:id) adds its round history with reputation and its quarantine state; an
 * admin lifts a quarantine with POST /api/banks/:id/quarantine/lift, and forgets a bank's pinned
 * secure-aggregation identity key with POST /api/banks/:id/identity/reset.
 */
import type { FastifyInstance } from 'fastify';
import { CloseCode } from '@finsecure/common/protocol';
import { generateToken, hashToken } from '../../auth/tokens.js';
import { StoreConflictError } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import { ErrorReply } from '../schema.js';
import { bankViewForJson } from '../epsilon.js';
import { bankDetail, liftQuarantine } from '../bank-detail.js';

const BankId = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' } as const;
const IdParams = { type: 'object', properties: { id: BankId }, required: ['id'] } as const;

export default async function banks(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/banks',
    { config: { permission: 'banks.read' }, schema: { tags: ['banks'], summary: 'All banks with live status' } },
    async () => {
      const list = await ctx.store.listBanks();
      // ε = ∞ (no noise) is written "Infinity", not null (= no DP): see ../epsilon.ts.
      return (await Promise.all(list.map((b) => ctx.federation.bankView(b)))).map(bankViewForJson);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/api/banks/:id',
    {
      config: { permission: 'banks.read' },
      schema: {
        tags: ['banks'],
        summary: "One bank: its live view, quarantine state and its last rounds' reputation (newest first)",
        params: IdParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
          additionalProperties: false,
        },
        response: { 404: ErrorReply },
      },
    },
    async (req, reply) => {
      const detail = await bankDetail(ctx, req.params.id, req.query.limit ?? 50);
      if (!detail) return reply.code(404).send({ error: 'not_found', message: `unknown bank "${req.params.id}"` });
      return detail;
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/banks/:id/identity/reset',
    {
      config: { permission: 'banks.manage' },
      schema: {
        tags: ['banks'],
        summary:
          "Forget a bank's pinned identity key (secure aggregation): its next hello pins the key it sends. For a bank that really replaced its key; audited",
        params: IdParams,
        response: { 404: ErrorReply },
      },
    },
    async (req, reply) => {
      if (!(await ctx.store.getBank(req.params.id)))
        return reply.code(404).send({ error: 'not_found', message: `unknown bank "${req.params.id}"` });
      const reset = await ctx.federation.resetIdentity(req.params.id, req.actor);
      return { bankId: req.params.id, reset };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/banks/:id/quarantine/lift',
    {
      config: { permission: 'banks.manage' },
      schema: {
        tags: ['banks'],
        summary: 'Lift a quarantine: the bank is selected again; its exclusions so far no longer count',
        params: IdParams,
        response: { 404: ErrorReply, 409: ErrorReply },
      },
    },
    async (req, reply) => {
      const r = await liftQuarantine(ctx, req.params.id, req.actor);
      if (r.kind === 'not_found')
        return reply.code(404).send({ error: 'not_found', message: `unknown bank "${req.params.id}"` });
      if (r.kind === 'not_quarantined') return reply.code(409).send({ error: 'conflict', message: r.message });
      return r.result;
    },
  );

  app.post<{ Body: { id: string; name?: string } }>(
    '/api/banks',
    {
      config: { permission: 'banks.manage' },
      schema: {
        tags: ['banks'],
        summary: 'Register a bank; the response holds its token, shown only this once',
        body: {
          type: 'object',
          properties: { id: BankId, name: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['id'],
          additionalProperties: false,
        },
        response: {
          201: {
            type: 'object',
            properties: { id: { type: 'string' }, name: { type: 'string' }, token: { type: 'string' } },
          },
          409: ErrorReply,
        },
      },
    },
    async (req, reply) => {
      const token = generateToken();
      const now = Date.now();
      try {
        await ctx.store.createBank({
          id: req.body.id,
          name: req.body.name ?? req.body.id,
          tokenHash: hashToken(token),
          createdAt: now,
          lastSeenAt: null,
          revokedAt: null,
        });
      } catch (err) {
        if (err instanceof StoreConflictError)
          return reply.code(409).send({ error: 'conflict', message: `bank "${req.body.id}" already exists` });
        throw err;
      }
      await ctx.federation.audit('bank.created', req.actor, {
        bankId: req.body.id,
        name: req.body.name ?? req.body.id,
      });
      await ctx.federation.publishBank(req.body.id); // the dashboards' bank tables, live
      // The token is shown once: no cache may keep it.
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ id: req.body.id, name: req.body.name ?? req.body.id, token });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/banks/:id/token',
    {
      config: { permission: 'banks.manage' },
      schema: {
        tags: ['banks'],
        summary: 'Issue a new token (the old one stops working) and lift a revocation',
        params: IdParams,
        response: { 404: ErrorReply },
      },
    },
    async (req, reply) => {
      const token = generateToken();
      const rotated = await ctx.federation.changeBankAccess(
        req.params.id,
        () => ctx.store.setBankToken(req.params.id, hashToken(token)),
        { type: 'bank.token_rotated', actor: req.actor },
        { code: CloseCode.Unauthorized, reason: 'token rotated' },
        { liftsRevocation: true },
      );
      if (!rotated) return reply.code(404).send({ error: 'not_found', message: `unknown bank "${req.params.id}"` });
      return reply.header('cache-control', 'no-store').send({ id: req.params.id, token });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/banks/:id',
    {
      config: { permission: 'banks.manage' },
      schema: {
        tags: ['banks'],
        summary: 'Revoke a bank: its token stops working and its connection is closed',
        params: IdParams,
        response: { 404: ErrorReply },
      },
    },
    async (req, reply) => {
      const revoked = await ctx.federation.changeBankAccess(
        req.params.id,
        () => ctx.store.revokeBank(req.params.id, Date.now()),
        { type: 'bank.revoked', actor: req.actor },
        { code: CloseCode.Unauthorized, reason: 'bank access revoked' },
      );
      if (!revoked) return reply.code(404).send({ error: 'not_found', message: `unknown bank "${req.params.id}"` });
      return { id: req.params.id, revoked: true };
    },
  );
}
