/**
 * The unit that per-address limits count: what one attacker can cheaply multiply (the aggregator's
 * admission limits, and the audit of rejected session cookies here: rejected-sessions.ts).
 *
 * An IPv4 address is one unit (IPv4-mapped IPv6 addresses are the IPv4 address). An IPv6
 * client usually holds a whole /64 (RFC 6177 recommends assigning /48–/64 to end sites,
 * and SLAAC needs a /64), so counting single IPv6 addresses would let one host open a
 * fresh address per connection: IPv6 addresses are counted by their /64 prefix.
 */
import { isIPv6 } from 'node:net';

/**
 * Normalises a remote address (as `req.ip` gives it) to the key limits count by:
 * `"192.0.2.7"` → `"192.0.2.7"`, `"::ffff:192.0.2.7"` → `"192.0.2.7"`,
 * `"2001:db8:1:2:aa::5"` → `"2001:db8:1:2::/64"`. Anything else (unknown formats,
 * an absent address) is returned unchanged, or `"unknown"` when empty.
 */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const bare = ip.replace(/%.*$/, ''); // zone id (fe80::1%eth0)
  if (!isIPv6(bare)) return ip;
  const [head = '', tail] = bare.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
