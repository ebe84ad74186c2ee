/**
 * Every committed model version, not only the latest: list them (with the best round by
 * federated AUPRC marked), download any of them in TF.js format, and let an admin roll the
 * global model back to one of them (an audit entry; see Federation.rollback).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { manifestFor, toArtifacts, weightsSha256 } from '@finsecure/common/model';
import type { ModelVersionView } from '@finsecure/common/api';
import { ControlRefused, NotFound } from '../../federation/federation.js';
import { DamagedDataError } from '../../store/integrity.js';
import type { ModelVersionRecord } from '../../store/types.js';
import type { ServerContext } from '../context.js';
import { ErrorReply, parseInput } from '../schema.js';

const VersionParams = z.object({ version: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });
const versionParamsSchema = {
  type: 'object',
  properties: { version: { type: 'integer', minimum: 0 } },
  required: ['version'],
} as const;

/** The versions 0…current, newest first, with the round that produced each and its metrics. */
export async function listModelVersions(ctx: ServerContext): Promise<ModelVersionView[]> {
  const current = ctx.federation.globalModel().version;
  const byVersion = new Map<number, { roundId: number; at: number; auprc?: number; f1?: number }>();
  for (const r of await ctx.store.listRoundsAscending()) {
    if (r.status === 'committed' && r.modelVersion !== null)
      byVersion.set(r.modelVersion, {
        roundId: r.id,
        at: r.endedAt ?? r.startedAt,
        ...(r.metrics?.auprc !== undefined ? { auprc: r.metrics.auprc } : {}),
        ...(r.metrics?.f1 !== undefined ? { f1: r.metrics.f1 } : {}),
      });
  }
  let best: number | null = null;
  for (const [v, m] of byVersion)
    if (m.auprc !== undefined && (best === null || m.auprc > byVersion.get(best)!.auprc!)) best = v;
  const out: ModelVersionView[] = [];
  for (let v = current; v >= 0; v--) {
    const m = byVersion.get(v);
    out.push({
      version: v,
      roundId: m?.roundId ?? null,
      // A version without a round is the initial model (v0) or a rollback.
      origin: m ? 'round' : v === 0 ? 'initial' : 'rollback',
      committedAt: m?.at ?? null,
      auprc: m?.auprc ?? null,
      f1: m?.f1 ?? null,
      best: v === best,
      current: v === current,
    });
  }
  return out;
}

/**
 * Makes the routes of one plugin answer 500 `damaged_data`, with the message naming the
 * version or round and the file, table and row, when the store finds stored data that
 * fails its check (store/integrity.ts); every other error goes to the app's handler.
 */
export function refuseDamagedData(app: FastifyInstance, ctx: ServerContext): void {
  const parent = app.errorHandler;
  app.setErrorHandler(function (this: FastifyInstance, err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
    if (!(err instanceof DamagedDataError)) return parent.call(this, err, req, reply);
    ctx.logger.error({ where: err.where, url: req.url }, err.message);
    return reply.code(500).send({ error: 'damaged_data', message: err.message });
  });
}

export default async function models(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  refuseDamagedData(app, ctx);
  /** Loads a version and checks it against its stored checksum before anything is served. */
  async function load(version: number, reply: FastifyReply): Promise<ModelVersionRecord | null> {
    const model = await ctx.store.getModel(version);
    if (!model) {
      await reply.code(404).send({ error: 'not_found', message: `model version ${version} does not exist` });
      return null;
    }
    if (weightsSha256(model.weights) !== model.sha256) {
      ctx.logger.error({ version }, 'stored model does not match its sha256');
      await reply
        .code(500)
        .send({ error: 'damaged_model', message: `stored model v${version} does not match its sha256` });
      return null;
    }
    return model;
  }

  app.get(
    '/api/models',
    {
      config: { permission: 'models.read' },
      schema: {
        tags: ['model'],
        summary: 'Every model version, newest first, with its round, federated AUPRC and F1; the best is marked',
      },
    },
    async () => listModelVersions(ctx),
  );

  app.get<{ Params: { version: string } }>(
    '/api/models/:version',
    {
      config: { permission: 'models.read' },
      schema: {
        tags: ['model'],
        summary: 'One model version: checksum, parameters and download links',
        params: versionParamsSchema,
        response: { 404: ErrorReply, 500: ErrorReply },
      },
    },
    async (req, reply) => {
      const { version } = parseInput(VersionParams, req.params, 'params');
      const model = await load(version, reply);
      if (!model) return reply;
      const view = (await listModelVersions(ctx)).find((m) => m.version === version);
      return {
        ...view,
        version,
        sha256: model.sha256,
        parameters: model.weights.length,
        spec: model.spec,
        files: [`/api/models/${version}/model.json`, `/api/models/${version}/weights.bin`],
      };
    },
  );

  app.get<{ Params: { version: string } }>(
    '/api/models/:version/model.json',
    {
      config: { permission: 'models.read' },
      schema: { tags: ['model'], summary: 'TF.js model.json of one model version', params: versionParamsSchema },
    },
    async (req, reply) => {
      const { version } = parseInput(VersionParams, req.params, 'params');
      const model = await load(version, reply);
      if (!model) return reply;
      const { scaler } = ctx.federation.globalModel();
      const art = await toArtifacts(
        ctx.spec,
        { data: model.weights, manifest: manifestFor(ctx.spec) },
        version,
        scaler ?? undefined,
      );
      return reply.header('content-disposition', `attachment; filename="model-v${version}.json"`).send(art.modelJson);
    },
  );

  app.get<{ Params: { version: string } }>(
    '/api/models/:version/weights.bin',
    {
      config: { permission: 'models.read' },
      schema: {
        tags: ['model'],
        summary: 'Float32 little-endian weights of one model version',
        params: versionParamsSchema,
      },
    },
    async (req, reply) => {
      const { version } = parseInput(VersionParams, req.params, 'params');
      const model = await load(version, reply);
      if (!model) return reply;
      const w = model.weights;
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="weights-v${version}.bin"`)
        .send(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
    },
  );

  app.post<{ Params: { version: string } }>(
    '/api/models/:version/rollback',
    {
      config: { permission: 'training.control' },
      schema: {
        tags: ['model'],
        summary:
          'Make a stored version the global model again (stored as a new version; refused while a round is in flight)',
        params: versionParamsSchema,
        response: { 404: ErrorReply, 409: ErrorReply },
      },
    },
    async (req, reply) => {
      const { version } = parseInput(VersionParams, req.params, 'params');
      try {
        return await ctx.federation.rollback(version, req.actor);
      } catch (err) {
        if (err instanceof NotFound) return reply.code(404).send({ error: 'not_found', message: err.message });
        if (err instanceof ControlRefused)
          return reply.code(409).send({ error: 'rollback_refused', message: err.message });
        throw err;
      }
    },
  );
}
