/**
 * Whether a listening address is reachable from other hosts: a server that serves passwords and
 * session cookies there without TLS sends them across the network in the clear.
 */
import { isIP } from 'node:net';

/**
 * True for addresses only this host reaches: `localhost`, 127.0.0.0/8, `::1` (and the IPv4-mapped
 * `::ffff:127.x.y.z`). Everything else, the wildcards `0.0.0.0` and `::` included, is not.
 * @param host a host name or IP literal as given to `listen` (IPv6 with or without brackets)
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * The warning to log when a server listens beyond this host without TLS, or null.
 * @param what the server's name in the message, e.g. "the bank console"
 * @param tlsHint how to give it TLS, e.g. "--console-tls-cert and --console-tls-key"
 */
export function plainListenWarning(what: string, host: string, tls: boolean, tlsHint: string): string | null {
  if (tls || isLoopbackHost(host)) return null;
  return (
    `${what} listens on ${host} without TLS: passwords and session cookies cross the network in the clear. ` +
    `Give ${tlsHint}, or keep it on 127.0.0.1 behind a TLS-terminating proxy`
  );
}
