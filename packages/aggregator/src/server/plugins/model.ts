/** The current global model in TF.js layers format: model.json plus weights.bin. */
import type { FastifyInstance } from 'fastify';
import { manifestFor, toArtifacts, weightsSha256 } from '@finsecure/common/model';
import type { ServerContext } from '../context.js';
import { DamagedDataError } from '../../store/integrity.js';
import { refuseDamagedData } from './models.js';

export default async function model(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  refuseDamagedData(app, ctx);

  /**
   * The global model in memory, checked against its stored record (whose weights the store
   * checks against their sha256): what is served is what was committed.
   */
  async function current(): Promise<ReturnType<ServerContext['federation']['globalModel']> & { sha256: string }> {
    const g = ctx.federation.globalModel();
    const sha256 = weightsSha256(g.weights);
    const stored = await ctx.store.getModel(g.version);
    if (stored && stored.sha256 !== sha256)
      throw new DamagedDataError(
        `the global model v${g.version} in memory (sha256 ${sha256.slice(0, 12)}…) differs from the stored ` +
          `v${g.version} (sha256 ${stored.sha256.slice(0, 12)}…)`,
        { table: 'models', row: `version ${g.version}` },
      );
    return { ...g, sha256 };
  }
  app.get(
    '/api/model',
    {
      config: { permission: 'models.read' },
      schema: { tags: ['model'], summary: 'Current global model version and checksum' },
    },
    async () => {
      const { version, weights, sha256 } = await current();
      return {
        version,
        parameters: weights.length,
        sha256,
        spec: ctx.spec,
        files: ['/api/model/model.json', '/api/model/weights.bin'],
      };
    },
  );

  app.get(
    '/api/model/model.json',
    {
      config: { permission: 'models.read' },
      schema: { tags: ['model'], summary: 'TF.js model.json of the current global model' },
    },
    async (_req, reply) => {
      const { version, weights, scaler } = ctx.federation.globalModel();
      const art = await toArtifacts(
        ctx.spec,
        { data: weights, manifest: manifestFor(ctx.spec) },
        version,
        scaler ?? undefined,
      );
      return reply.header('content-disposition', 'attachment; filename="model.json"').send(art.modelJson);
    },
  );

  app.get(
    '/api/model/weights.bin',
    {
      config: { permission: 'models.read' },
      schema: { tags: ['model'], summary: 'Float32 little-endian weights of the current global model' },
    },
    async (_req, reply) => {
      const { weights } = await current();
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', 'attachment; filename="weights.bin"')
        .send(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
    },
  );
}
