/**
 * A WebSocket upgrade to a path with no socket route is answered with HTTP 404 at the upgrade.
 *
 * Why: @fastify/websocket routes an upgrade through the ordinary router and, on any route that is
 * not a socket route (the dashboard's wildcard, an API route), accepts the WebSocket and closes it at
 * once with no status (1005). A bank daemon pointed at a wrong `--server` path then saw a socket that
 * opened and closed, with nothing to say why, and retried for ever. A 404 at the upgrade is what a
 * WebSocket client reports as such ("Unexpected server response: 404"), and the daemon turns it into
 * a hint naming /ws/bank (bank-client/src/connect-failure.ts).
 */
import type { FastifyInstance } from 'fastify';

/** Longest part of a refused path echoed in the answer (it is the client's own input). */
const SHOWN_PATH_CHARS = 200;

/**
 * Adds the root `onRequest` hook; register it right after @fastify/websocket (whose own hook sets
 * `req.ws` and, once the answer is sent, destroys the upgraded socket) and before the routes.
 * @param socketPaths the routes that take WebSocket upgrades, e.g. ['/ws/bank', '/ws/events']
 */
export function refuseUpgradesOffSocketRoutes(app: FastifyInstance, socketPaths: readonly string[]): void {
  const paths = new Set(socketPaths);
  const where = socketPaths.join(', ');
  app.addHook('onRequest', async (req, reply) => {
    if (!req.ws || paths.has(req.routeOptions.url ?? '')) return;
    const path = (req.url.split('?')[0] ?? '').slice(0, SHOWN_PATH_CHARS);
    req.log.info({ path }, 'WebSocket upgrade to a path with no socket: 404');
    return reply.code(404).send({
      error: 'not_found',
      message: `no WebSocket endpoint at ${path}: the aggregator's sockets are ${where} (banks connect at /ws/bank)`,
    });
  });
}
