/** Serves the built dashboard at / (single-page app: unknown non-API paths get index.html). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export default async function dashboard(app: FastifyInstance, opts: { dir: string | undefined }): Promise<void> {
  const dir = opts.dir ? path.resolve(opts.dir) : undefined;
  if (!dir || !existsSync(path.join(dir, 'index.html'))) {
    app.get('/', { schema: { hide: true } as never }, async (_req, reply) =>
      reply
        .type('text/html')
        .send(
          '<!doctype html><title>FinSecure</title><p>The dashboard is not built. Run <code>npm run build</code>, then reload. The API is at <a href="/docs">/docs</a>.</p>',
        ),
    );
    return;
  }
  // wildcard: files added by a rebuild are served without a restart.
  await app.register(fastifyStatic, { root: dir, prefix: '/', index: ['index.html'], wildcard: true });
  app.setNotFoundHandler((req, reply) => {
    // Client-side routes get the app; a missing asset or API route is a real 404.
    const isApp = req.method === 'GET' && !/^\/(api|ws|assets|docs)\//.test(req.url);
    if (isApp) return reply.sendFile('index.html');
    return reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
}
