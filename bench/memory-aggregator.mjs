/**
 * The aggregator side of `npm run bench -- memory` (bench/memory.ts), in plain JavaScript so
 * that it runs on plain `node` against the built packages (dist/, which `npm run bench`
 * builds): no TypeScript loader in the process whose memory is measured. Started by
 * bench/memory.ts with `fork(file, [JSON options])`; answers its requests over IPC:
 * - at start: `{ type: 'ready', url, wsUrl, adminToken }`;
 * - `{ type: 'status' }` → `{ type: 'status', connected, state }`;
 * - `{ type: 'round' }`: resets the kernel's RSS high-water mark, starts training, waits until
 *   it finishes, answers `{ type: 'round', ... }` (RSS before, VmHWM after, CPU, wall, result);
 * - `{ type: 'stop' }`: closes the aggregator and exits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { DEFAULT_RULES, loadConfig, startAggregator } from '@finsecure/aggregator';

const opts = JSON.parse(process.argv[2]);
/** @param {'VmRSS' | 'VmHWM'} field */
function procStatus(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

const config = loadConfig({
  flags: {
    host: '127.0.0.1',
    port: 0,
    dataDir: opts.dataDir,
    adminToken: opts.adminToken,
    autoStart: false,
    backend: 'cpu',
    logLevel: 'silent',
    heartbeatIntervalMs: 5_000,
    heartbeatTimeoutMs: 300_000,
    helloTimeoutMs: 60_000,
    unknownPeerHelloTimeoutMs: 60_000,
    maxUnauthenticatedPerAddress: 256,
    maxConnectionsPerAddress: 1_000_000,
    model: opts.model,
    rules: {
      ...DEFAULT_RULES,
      rounds: 1,
      minBanks: opts.banks,
      quorum: opts.banks,
      roundTimeoutMs: 1_800_000,
      graceMs: 0,
      evaluationTimeoutMs: 1_800_000,
      roundIntervalMs: 0,
      uploadSlots: opts.slots,
      uploadGrantTimeoutMs: 1_800_000,
    },
  },
});
const agg = await startAggregator(config, { logger: pino({ level: 'silent' }) });

async function round() {
  globalThis.gc?.();
  const rssConnected = procStatus('VmRSS');
  // VmHWM is then the peak of the round alone.
  writeFileSync('/proc/self/clear_refs', '5');
  let sampledPeakRss = procStatus('VmRSS');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await agg.federation.control('start', 'bench');
  while (agg.federation.status().state !== 'finished') {
    sampledPeakRss = Math.max(sampledPeakRss, process.memoryUsage().rss);
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpu = process.cpuUsage(cpu0);
  const roundWallMs = performance.now() - t0;
  const records = await agg.store.listRoundsAscending();
  const committed = records.find((r) => r.status === 'committed');
  return {
    type: 'round',
    rssConnected,
    peakRss: procStatus('VmHWM'),
    sampledPeakRss,
    roundWallMs,
    roundCpuMs: (cpu.user + cpu.system) / 1000,
    participants: committed?.participants.length ?? 0,
    status: records.map((r) => r.status).join(', '),
    peakInFlight: agg.federation.uploadStats().peakInFlight,
  };
}

process.on('message', (m) => {
  if (m.type === 'status') {
    const s = agg.federation.status();
    process.send({ type: 'status', connected: s.connectedBanks, state: s.state });
  } else if (m.type === 'round')
    round().then(
      (r) => process.send(r),
      (err) => process.send({ type: 'error', message: err.stack ?? String(err) }),
    );
  else if (m.type === 'stop') void agg.close().then(() => process.exit(0));
});
process.on('disconnect', () => void agg.close().then(() => process.exit(0)));
process.send({ type: 'ready', url: agg.url, wsUrl: agg.wsUrl, adminToken: agg.adminToken });
