/** Serves the built console app (packages/console/dist) at /; client-side routes get index.html. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export default async function appFiles(app: FastifyInstance, opts: { dir: string | null }) {
  const dir = opts.dir ? path.resolve(opts.dir) : null;
  if (!dir || !existsSync(path.join(dir, 'index.html'))) {
    app.get('/', { config: { access: 'public' }, schema: { hide: true } as never }, async (_req, reply) =>
      reply
        .type('text/html')
        .send(
          '<!doctype html><title>FinSecure bank console</title><p>The console app is not built. Run <code>npm run build</code>, then reload. The API is at <a href="/docs">/docs</a>.</p>',
        ),
    );
    return;
  }
  await app.register(fastifyStatic, { root: dir, prefix: '/', index: ['index.html'], wildcard: true });
  app.setNotFoundHandler((req, reply) => {
    const isApp = req.method === 'GET' && !/^\/(api|assets|docs)\//.test(req.url);
    if (isApp) return reply.sendFile('index.html');
    return reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
}
