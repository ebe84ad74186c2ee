/**
 * What `npm start` (local-federation.ts) checks before its work: the ports it will listen on,
 * and whether a CSV of one's own has customers to segment.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createServer } from 'node:net';
import { splitCsvLine } from '@finsecure/common/data';

/** The console ports of `banks` banks from `base` (none when 0). */
export function consolePorts(base: number, banks: number): { port: number; flag: string }[] {
  return base === 0 ? [] : Array.from({ length: banks }, (_, i) => ({ port: base + i, flag: '--console-port' }));
}

/**
 * Exits 2 naming the flag when another program holds one of the ports: before, the aggregator
 * failed with a bare EADDRINUSE after the data work, and a bank whose console port was taken
 * died while the banner advertised the other program's URL.
 */
export async function portsFree(host: string, ports: { port: number; flag: string }[]): Promise<void> {
  for (const { port, flag } of ports) {
    if (port === 0) continue;
    const problem = await new Promise<string | null>((resolve) => {
      const probe = createServer();
      probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      probe.listen({ host: flag === '--console-port' ? '127.0.0.1' : host, port, exclusive: true }, () =>
        probe.close(() => resolve(null)),
      );
    });
    if (problem === null) continue;
    const why = problem === 'EADDRINUSE' ? 'is in use by another program' : `cannot be opened (${problem})`;
    process.stderr.write(
      `finsecure-local: port ${port} ${why}; choose another with ${flag}` +
        (flag === '--console-port' ? ' (bank i listens on it + i - 1), or 0 for no consoles' : '') +
        '\n',
    );
    process.exit(2);
  }
}

/** Whether the CSV's header (its first line) names `column`. */
export function headerHas(file: string, column: string): boolean {
  // The first 64 KB only: a shard may be hundreds of MB (the shards are plain CSV, partition/files.ts).
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(65_536);
  let n = 0;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const head = (buf.toString('utf8', 0, n).split(/\r?\n/, 1)[0] ?? '').replace(/^\uFEFF/, '');
  const cells: string[] = [];
  const count = splitCsvLine(head, cells);
  return cells.slice(0, Math.max(0, count)).some((c) => c.trim() === column);
}
