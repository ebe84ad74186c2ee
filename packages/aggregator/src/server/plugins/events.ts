/**
 * /ws/events: the dashboard's live stream. Browsers cannot set headers on a WebSocket,
 * and a token in the URL would end up in access logs, so the first text message must
 * be `{"token": "..."}` (or `{}` from a signed-in page: its session cookie came with the
 * upgrade). The server answers with a snapshot, then pushes LiveEvents.
 *
 * The stream outlives the upgrade request, so access is not decided once (live-access.ts):
 * - each event goes only to a caller whose role may read the same data over REST (an audit
 *   entry needs audit.read, a bank banks.read);
 * - the caller is looked up again before an event once the last look-up is older than
 *   LIVE_RECHECK_MS, and at once after an audit entry that changes accounts, sessions or
 *   tokens: an ended session or a revoked token closes the stream (4001), a new role applies
 *   from the next event;
 * - a session that must still change its password or enrol MFA gets no stream (4003), as it
 *   gets nothing but its own profile over REST; a session cookie sent from a page of another
 *   origin is ignored (the upgrade is a GET, which the CSRF check does not cover).
 * Before it authenticates, a socket counts against per-address and global limits
 * (LIVE_LIMITS, the bank socket's ConnectionTable) and has LIVE_FIRST_MESSAGE_MS to speak.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { LiveEvent } from '@finsecure/common/api';
import { BOOTSTRAP_VIEWER_PERMISSIONS, ROLE_PERMISSIONS, sameOrigin, type Permission } from '@finsecure/accounts';
import type { ServerContext } from '../context.js';
import { epsilonReplacer } from '../epsilon.js';
import { addressKey } from '../admission/address.js';
import { refuseNow } from '../admission/close.js';
import { ConnectionTable, type ConnectionLimits } from '../admission/connection-table.js';
import { eventPermission, needsRecheck } from '../live-access.js';
import { roundFor } from '../round-views.js';

/** Dashboards are few: a handful of tabs per person, a few people per office address. */
export const LIVE_LIMITS: ConnectionLimits = {
  maxConnectionsPerAddress: 64,
  maxUnauthenticatedPerAddress: 8,
  maxUnauthenticated: 128,
};
/** A page sends its first message as soon as the socket opens. */
export const LIVE_FIRST_MESSAGE_MS = 5_000;
/** Bytes queued for one stream beyond which its reader is cut (a dashboard reads in milliseconds). */
export const LIVE_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

interface Caller {
  role: string;
  permissions: ReadonlySet<Permission>;
}

/** Why a caller gets no stream (close code and reason), or null when it may have one. */
function refusal(p: { permissions: ReadonlySet<Permission>; setup?: 'password' | 'mfa' | null }) {
  if (p.setup) return { code: 4003, reason: 'finish setting up your account first (Profile)' };
  if (!p.permissions.has('charts.read')) return { code: 4003, reason: 'your role does not include the live stream' };
  return null;
}

function samePermissions(a: ReadonlySet<Permission>, b: ReadonlySet<Permission>): boolean {
  if (a.size !== b.size) return false;
  for (const p of a) if (!b.has(p)) return false;
  return true;
}

/** The dashboard's live events socket. */
export const EVENTS_SOCKET_PATH = '/ws/events';

export default async function events(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const table = new ConnectionTable<WebSocket>(LIVE_LIMITS);

  /** The caller behind the upgrade's own credential, looked up again; null when it has none. */
  async function lookUp(req: FastifyRequest): Promise<(Caller & { setup: 'password' | 'mfa' | null }) | null> {
    try {
      return await app.identify(req);
    } catch {
      return null; // ended session, revoked or expired token: AccountError(401)
    }
  }

  // Public at the HTTP layer: a browser's session cookie is checked by the auth hook on the
  // upgrade (req.principal); other clients send a token in the first message.
  const route = {
    config: { permission: 'public' as const },
    websocket: true as const,
    schema: { hide: true } as never,
  };
  app.get(EVENTS_SOCKET_PATH, route, (socket: WebSocket, req) => {
    const admitted = table.admit(addressKey(req.socket.remoteAddress), socket);
    if (!admitted.ok) return refuseNow(socket, 1013, admitted.reason);
    if (admitted.evict) refuseNow(admitted.evict.conn, 1013, 'evicted: too many connections waiting to authenticate');

    let unsubscribe: (() => void) | null = null;
    let closed = false;
    // A refused or ended stream leaves the connection table at once, and is cut if the peer does
    // not finish the close handshake: a client that never answers the close must not hold a slot.
    const stop = (code: number, reason: string) => {
      closed = true;
      unsubscribe?.();
      table.release(socket);
      refuseNow(socket, code, reason);
    };
    const timer = setTimeout(() => stop(4001, 'no token within 5 s'), LIVE_FIRST_MESSAGE_MS);
    const send = (obj: unknown) => {
      if (socket.readyState !== socket.OPEN) return;
      // A reader that does not keep up is cut rather than buffered without bound; the page
      // reconnects and reloads what it missed.
      if (socket.bufferedAmount > LIVE_MAX_BUFFERED_BYTES) return stop(1013, 'not reading the stream fast enough');
      // epsilonReplacer: ε = ∞ is sent as "Infinity", not null (= no DP).
      socket.send(JSON.stringify(obj, epsilonReplacer));
    };

    let started = false;
    socket.on('message', (data: Buffer) => {
      if (started) return;
      started = true;
      clearTimeout(timer);
      table.helloReceived(socket);
      let token: unknown;
      try {
        token = JSON.parse(data.toString('utf8')).token;
      } catch {
        /* handled below */
      }
      // A session cookie is an ambient credential: a page of another origin (a sibling subdomain,
      // which SameSite does not stop) must not open the stream with it (cross-site WebSocket hijacking).
      const principal = req.principal?.kind === 'session' && !sameOrigin(req.headers) ? null : req.principal;
      const legacy = principal ? null : typeof token === 'string' ? ctx.auth.roleOf(token) : null;
      let caller: Caller | null = principal
        ? principal
        : legacy
          ? { role: legacy, permissions: legacy === 'admin' ? ROLE_PERMISSIONS.admin : BOOTSTRAP_VIEWER_PERMISSIONS }
          : null;
      if (!caller) return stop(4001, 'unauthorized: send {"token": "<admin or viewer token>"} first');
      const refused = refusal(principal ?? caller);
      if (refused) return stop(refused.code, refused.reason);
      table.authenticated(socket);

      // Bootstrap tokens (a token in the first message) cannot be revoked while the aggregator
      // runs; a session or an API token (sent with the upgrade) is looked up again.
      let checkedAt = performance.now();
      const recheck = async (): Promise<boolean> => {
        if (!principal) return true;
        const again = await lookUp(req);
        checkedAt = performance.now();
        if (!again) {
          stop(4001, 'your session has ended or your token was revoked; sign in again');
          return false;
        }
        const no = refusal(again);
        if (no) {
          stop(no.code, no.reason);
          return false;
        }
        // A new role applies from the next event; the page is told, so that it re-reads who it is and
        // shows the panels of the new role (it drew its layout from the role it signed in with).
        const changed = again.role !== caller!.role || !samePermissions(again.permissions, caller!.permissions);
        caller = again;
        if (changed) send({ type: 'role', role: again.role });
        return true;
      };
      const deliver = async (event: LiveEvent) => {
        if (closed) return;
        if (needsRecheck(event, checkedAt, performance.now()) && !(await recheck())) return;
        if (!caller!.permissions.has(eventPermission(event))) return;
        // A round as GET /api/rounds gives it to this caller (round-views.ts).
        send(event.type === 'round' ? { ...event, round: roundFor(event.round, caller!.permissions) } : event);
      };
      // One queue per stream: events keep their order across a look-up.
      let queue = Promise.resolve();
      send({ type: 'hello', role: caller.role });
      send({ type: 'status', status: ctx.federation.status() });
      unsubscribe = ctx.events.subscribe((event) => {
        queue = queue.then(() => deliver(event)).catch((err: unknown) => req.log.error({ err }, 'live event not sent'));
      });
    });
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      table.release(socket);
      unsubscribe?.();
    });
    socket.on('error', () => {});
  });
}
