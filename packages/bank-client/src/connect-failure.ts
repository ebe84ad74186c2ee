/**
 * Why a connection to the aggregator failed, in words a bank's platform team can act on, and how
 * often to say it (client.ts). A failed attempt is one that ended before the aggregator's welcome:
 * an HTTP answer other than the WebSocket upgrade, a socket or TLS error, or a close before the
 * welcome. Each is classified into a cause with a hint naming the URL (without credentials: the
 * token travels in the hello, never in the URL or a header, and is never logged).
 *
 * How the aggregator answers (server/plugins/bank-socket.ts, @fastify/websocket), so the hints are
 * true:
 * - /ws/bank is public at the HTTP layer: a bad token is never an HTTP 401/403 at the upgrade but
 *   a close with 4001 after the hello (handled in client.ts, which stops). An HTTP 401/403 at the
 *   upgrade therefore comes from a proxy or gateway in between.
 * - An upgrade to any other path is answered with HTTP 404 (server/admission/ws-paths.ts), except
 *   /ws/events, the dashboard's socket, which closes a bank's hello with 4001. Aggregators before
 *   that answer upgraded any path and closed it at once without a status code (1005): that close,
 *   on a path other than /ws/bank, is still taken for a wrong path. A 404 on /ws/bank itself comes
 *   from a proxy in front of the aggregator, or from a server that is not one.
 *
 * Nothing here stops the reconnection: a daemon must outlive an aggregator's restart, and a
 * proxy may answer 404 or 502 while the aggregator behind it restarts. Causes that will not go
 * away by themselves (a wrong URL, a certificate not trusted) are logged at error instead.
 */
import type { Logger } from 'pino';

/** The path the aggregator serves banks at. */
export const BANK_PATH = '/ws/bank';

export type FailureLevel = 'warn' | 'error';

export interface ConnectFailure {
  /** Same key, same cause: its long hint is logged once, not at every attempt. */
  readonly cause: string;
  /** error: it will not fix itself (the configuration is wrong); warn: it may (an outage). */
  readonly level: FailureLevel;
  /** What is wrong and what to check, naming the URL. */
  readonly hint: string;
  /** Fields for the log line: the HTTP status, the error code or message, the close code. */
  readonly detail: Readonly<Record<string, string | number>>;
}

/** The URL as logged: no user or password, and no query string (either could hold a secret). */
export function shownUrl(server: string): string {
  try {
    const u = new URL(server);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

function parse(server: string): URL | null {
  try {
    return new URL(server);
  } catch {
    return null;
  }
}

/** `host:port`, with the scheme's default port when the URL names none. */
function hostPort(u: URL | null): string {
  if (!u) return 'the server';
  return `${u.hostname}:${u.port || (u.protocol === 'wss:' ? '443' : '80')}`;
}

/** The bank endpoint on the same host, port and scheme: what --server most likely should be. */
export function bankUrlOf(server: string): string {
  const u = parse(server);
  return u ? `${u.protocol}//${u.host}${BANK_PATH}` : `ws(s)://<host>:<port>${BANK_PATH}`;
}

/** True when the URL's path is the aggregator's bank path (a trailing slash is not: it is a 404 there). */
export function isBankPath(server: string): boolean {
  return parse(server)?.pathname === BANK_PATH;
}

function tell(cause: string, level: FailureLevel, hint: string, detail: Record<string, string | number>) {
  return { cause, level, hint, detail } satisfies ConnectFailure;
}

/**
 * An HTTP answer other than 101 to the upgrade (ws's `unexpected-response`). `location`: the
 * Location header of a redirect (ws does not follow redirects unless asked to; the daemon does not).
 */
export function failureOfResponse(server: string, status: number, location?: string): ConnectFailure {
  const url = shownUrl(server);
  const detail = { status };
  if (status === 404)
    return tell(
      'http-404',
      'error',
      isBankPath(server)
        ? `no FinSecure bank endpoint at ${url} (HTTP 404): the aggregator itself never answers a WebSocket upgrade with 404, so this is another server, or a proxy in front of the aggregator with no route to its ${BANK_PATH} (check --server and the proxy's routes)`
        : `no FinSecure bank endpoint at ${url} (HTTP 404): the aggregator serves banks at ${bankUrlOf(server)}, or at the path a proxy in front of it maps there (check --server)`,
      detail,
    );
  if (status === 401 || status === 403)
    return tell(
      `http-${status}`,
      'error',
      `HTTP ${status} from ${url} at the WebSocket upgrade: the aggregator never asks for HTTP credentials there (the bank's token goes in its hello), so a proxy or gateway in between refused the connection; ask whoever runs it to let WebSocket upgrades to ${BANK_PATH} through`,
      detail,
    );
  if (status >= 300 && status < 400) {
    const to = location ? redirectTarget(server, location) : 'another address';
    return tell(
      `http-${status}`,
      'error',
      `HTTP ${status} from ${url}: it redirects to ${to}, and the daemon does not follow redirects; put the final address in --server (https:// means wss://)`,
      { ...detail, ...(location ? { location: redirectTarget(server, location) } : {}) },
    );
  }
  if (status === 502 || status === 503 || status === 504)
    return tell(
      `http-${status}`,
      'warn',
      `HTTP ${status} from ${url}: a proxy in between could not reach the aggregator; is it running (or restarting)?`,
      detail,
    );
  return tell(
    `http-${status}`,
    'error',
    `HTTP ${status} from ${url} instead of a WebSocket upgrade: not a FinSecure aggregator, or a proxy in between that does not pass WebSocket upgrades${isBankPath(server) ? '' : ` (banks connect at ${bankUrlOf(server)})`}`,
    detail,
  );
}

/** A redirect's Location (absolute or relative, http(s)://) as the ws(s):// URL to use instead. */
function redirectTarget(server: string, location: string): string {
  try {
    return shownUrl(new URL(location, server.replace(/^ws/, 'http')).href.replace(/^http/, 'ws'));
  } catch {
    return 'an unparsable address';
  }
}

/** Certificate checks that fail because the aggregator's CA is not trusted. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
]);

/**
 * A socket, DNS or TLS error before the upgrade completed (ws's `error`, then `close` 1006).
 * `caFile`: whether the daemon was given --ca-file, which changes what to check on a TLS failure.
 */
export function failureOfError(
  server: string,
  err: Error & { code?: string },
  opts: { caFile: boolean },
): ConnectFailure {
  const url = shownUrl(server);
  const u = parse(server);
  const at = hostPort(u);
  const host = u?.hostname ?? 'the host';
  const tls = u?.protocol === 'wss:';
  const code = err.code ?? '';
  const detail = { error: err.message.split('\n')[0]!.slice(0, 300), ...(code ? { code } : {}) };
  const caHint = opts.caFile
    ? 'the CA in --ca-file (FINSECURE_CA_FILE) did not sign the certificate the server sent: is it the consortium CA, and the server the aggregator?'
    : "pass the consortium CA that signed the aggregator's certificate with --ca-file (FINSECURE_CA_FILE)";
  switch (code) {
    case 'ECONNREFUSED':
      return tell(
        'refused',
        'warn',
        `nothing listens at ${at} (connection refused): is the aggregator running, and on this port? (${url})`,
        detail,
      );
    case 'ENOTFOUND':
      // warn, not error: in Docker Compose a stopped service's name does not resolve either.
      return tell(
        'dns',
        'warn',
        `the host name ${host} does not resolve (${url}): check the host in --server (in Docker Compose, a stopped service's name does not resolve either)`,
        detail,
      );
    case 'EAI_AGAIN':
      return tell(
        'dns-again',
        'warn',
        `the host name ${host} could not be resolved just now (DNS server unreachable or slow) (${url})`,
        detail,
      );
    case 'ETIMEDOUT':
      return tell(
        'timeout',
        'warn',
        `no answer from ${at} (connection timed out): a firewall dropping the packets, or the wrong host? (${url})`,
        detail,
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return tell(
        'unreachable',
        'warn',
        `no route to ${at} (${code}): check the network between this bank and the aggregator (${url})`,
        detail,
      );
    case 'ECONNRESET':
      return tell(
        'reset',
        'warn',
        tls
          ? `${at} reset the connection during the TLS or WebSocket handshake: a firewall or proxy in between? (${url})`
          : `${at} reset the connection before answering: if the aggregator serves TLS on this port, use wss:// instead of ws:// (with --ca-file for a private CA) (${url})`,
        detail,
      );
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return tell(
        'tls-cert-dates',
        'error',
        `the aggregator's TLS certificate at ${at} is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'}: renew it, or check this machine's clock (${url})`,
        detail,
      );
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return tell(
        'tls-cert-name',
        'error',
        `the aggregator's TLS certificate does not name ${host}: connect with a host name the certificate names, or reissue it with this one (deploy/make-tls-certs.sh takes extra host names) (${url})`,
        detail,
      );
  }
  if (UNTRUSTED.has(code))
    return tell(
      'tls-untrusted',
      'error',
      `the TLS certificate of ${at} is not trusted (${code}): ${caHint} (${url})`,
      detail,
    );
  if (/wrong version number|packet length too long|http request/i.test(err.message) || code === 'EPROTO')
    return tell(
      'tls-protocol',
      'error',
      tls
        ? `${at} does not speak TLS: use ws:// instead of wss://, or the aggregator's TLS port (${url})`
        : `TLS protocol error talking to ${at} (${url})`,
      detail,
    );
  if (/^Opening handshake has timed out/.test(err.message))
    return tell(
      'handshake-timeout',
      'warn',
      `${at} accepted the connection but sent no WebSocket answer in time: an overloaded aggregator, or not an HTTP server${tls ? '' : ' (ws:// to a TLS port? then use wss://)'} (${url})`,
      detail,
    );
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
    return tell(`tls:${code}`, 'error', `TLS handshake with ${at} failed (${code}): ${caHint} (${url})`, detail);
  return tell(`error:${code || err.message.slice(0, 80)}`, 'warn', `cannot connect to ${url}: ${detail.error}`, detail);
}

/**
 * The WebSocket opened and the hello went out, but no welcome came within `waitedMs`: a server
 * that takes sockets and stays silent (another service's WebSocket) or an aggregator too busy to
 * answer. Warn: the second fixes itself.
 */
export function failureOfNoWelcome(server: string, waitedMs: number): ConnectFailure {
  const url = shownUrl(server);
  return tell(
    'no-welcome',
    'warn',
    `${url} took the WebSocket but sent no welcome within ${formatDelay(waitedMs)} of this bank's hello: not the FinSecure aggregator's bank endpoint (banks connect at ${bankUrlOf(server)}; check --server), or an aggregator too busy to answer (welcomeTimeoutMs in the config file sets the wait)`,
    { waitedMs },
  );
}

/**
 * The WebSocket opened but closed before the aggregator's welcome, with a code other than the ones
 * client.ts stops on (4001, 4007). On a path other than /ws/bank, an empty close (1005: an older
 * aggregator's answer to any WebSocket upgrade it has no handler for) means a wrong path.
 */
export function failureOfEarlyClose(server: string, code: number, reason: string): ConnectFailure {
  const url = shownUrl(server);
  const detail = { closeCode: code, ...(reason ? { reason: reason.slice(0, 300) } : {}) };
  if (!isBankPath(server) && !reason && (code === 1005 || code === 1000 || code === 1006))
    return tell(
      'wrong-path',
      'error',
      `${url} accepted the WebSocket and closed it at once without a reason (${code}), as older FinSecure aggregators do on any path but ${BANK_PATH}: banks connect at ${bankUrlOf(server)} (check --server)`,
      detail,
    );
  const what =
    code === 4006
      ? 'the aggregator is shutting down'
      : code === 4002
        ? "the aggregator did not accept this bank's hello"
        : code === 1013
          ? 'the aggregator is at its connection limit'
          : code === 1008
            ? 'the aggregator refused the connection'
            : 'the server closed the connection before welcoming this bank';
  const path = isBankPath(server) ? '' : ` (banks connect at ${bankUrlOf(server)}: check --server)`;
  return tell(`closed-${code}`, 'warn', `${what} (${url}, close ${code}${reason ? `: ${reason}` : ''})${path}`, detail);
}

/** A sentence for refusals on a path other than /ws/bank, where the refusal may be another endpoint's. */
export function pathNote(server: string): string {
  return isBankPath(server)
    ? ''
    : `; note that ${shownUrl(server)} is not the bank endpoint: banks connect at ${bankUrlOf(server)} (check --server)`;
}

export interface FailureLogOptions {
  /** Say a repeated cause again (at its level) after this many attempts since it was last said. */
  remindEveryAttempts?: number;
  /** … or after this long, whichever comes first. */
  remindEveryMs?: number;
  now?: () => number;
}

/**
 * The log of failed attempts between two welcomes. A cause's hint is logged once when it first
 * appears; repeats are debug lines with the attempt count and the next delay, and each cause's hint
 * is said again every `remindEveryAttempts` attempts or `remindEveryMs` since it was last said, so a
 * long outage stays visible at warn/error. Each cause is remembered apart: an aggregator whose
 * failures alternate (a handshake timeout, then its connection limit, then a timeout again) gets
 * each hint once, not a warning per attempt.
 */
export class FailureLog {
  private total = 0;
  private firstAt = 0;
  /** The cause of the last failed attempt. */
  private lastCause: string | null = null;
  /** When and at which attempt each cause's hint was last said (the few causes of one outage). */
  private readonly said = new Map<string, { at: number; attempt: number }>();
  private readonly remindEveryAttempts: number;
  private readonly remindEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly logger: Logger,
    private readonly server: string,
    opts: FailureLogOptions = {},
  ) {
    this.remindEveryAttempts = opts.remindEveryAttempts ?? 20;
    this.remindEveryMs = opts.remindEveryMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Failed attempts since the last welcome. */
  get attempts(): number {
    return this.total;
  }

  failed(f: ConnectFailure, retryInMs: number): void {
    const now = this.now();
    if (this.total === 0) this.firstAt = now;
    this.total++;
    const retry = `retrying in ${formatDelay(retryInMs)}`;
    const fields = { server: shownUrl(this.server), cause: f.cause, attempt: this.total, retryInMs, ...f.detail };
    const previous = this.lastCause;
    this.lastCause = f.cause;
    const said = this.said.get(f.cause);
    if (!said) {
      this.said.set(f.cause, { at: now, attempt: this.total });
      const changed = previous && previous !== f.cause ? ` (the cause changed from ${previous})` : '';
      this.logger[f.level](fields, `cannot join the aggregator: ${f.hint}${changed}; ${retry}`);
      return;
    }
    if (this.total - said.attempt >= this.remindEveryAttempts || now - said.at >= this.remindEveryMs) {
      this.said.set(f.cause, { at: now, attempt: this.total });
      this.logger[f.level](
        fields,
        `still cannot join the aggregator after ${this.total} attempts over ${formatDelay(now - this.firstAt)}: ${f.hint}; ${retry}`,
      );
      return;
    }
    const again = previous === f.cause ? 'again' : `(was ${previous})`;
    this.logger.debug(fields, `connection attempt ${this.total} failed ${again} (${f.cause}); ${retry}`);
  }

  /**
   * The aggregator welcomed the bank: returns the failed attempts before it (0: none) and how long
   * they lasted, and starts over.
   */
  joined(): { failedAttempts: number; downMs: number; lastCause: string | null } {
    const out = {
      failedAttempts: this.total,
      downMs: this.total ? this.now() - this.firstAt : 0,
      lastCause: this.lastCause,
    };
    this.total = 0;
    this.lastCause = null;
    this.said.clear();
    return out;
  }
}

export function formatDelay(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
