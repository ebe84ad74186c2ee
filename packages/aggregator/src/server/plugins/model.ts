/** The current global model in TF.js layers format: model.json plus weights.bin. */
import type { FastifyInstance } from 'fastify';
import { manifestFor, toArtifacts, weightsSha256 } from '@finsecure/common/model';
import type { ServerContext } from '../context.js';

export default async function model(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get(
    '/api/model',
    {
      config: { permission: 'models.read' },
      schema: { tags: ['model'], summary: 'Current global model version and checksum' },
    },
    async () => {
      const { version, weights } = ctx.federation.globalModel();
      return {
        version,
        parameters: weights.length,
        sha256: weightsSha256(weights),
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
      const { weights } = ctx.federation.globalModel();
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', 'attachment; filename="weights.bin"')
        .send(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
    },
  );
}
