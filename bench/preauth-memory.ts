/**
 * Aggregator memory under anonymous sockets that never authenticate (issue 12, item 7:
 * before the fix, 8 sockets sending 60 MB frames took the aggregator from 137 MB to 745 MB).
 *
 * Each scenario starts a fresh aggregator: the real CLI (built dist/, `npm run bench` builds
 * it) on loopback with SQLite in a temporary directory, and
 * reads its RSS from /proc/<pid>/status (VmRSS every 20 ms, and the kernel's high-water mark
 * VmHWM, reset after start-up): the figures are the aggregator's alone. The attackers run in
 * this process: 256 sockets, each from its own loopback address (127.1.x.y), so per-address
 * limits do not trim the attack and the global pool of 256 waiting sockets is exactly full;
 * hello timeouts are raised to 60 s so that nothing expires during a scenario.
 *
 * - `churn` (reference): each socket upgrades and hangs up at once, again and again, for
 *   `durationMs`: what accepting connections at that rate costs, without any frame.
 * - `oversize`: each socket announces a 64 MiB frame and streams zeros; when refused it
 *   reconnects and tries again (for `durationMs`), until its address is rate-limited.
 * - `held`: each socket sends a frame of exactly the hello limit minus its last byte, and
 *   holds it: the most a waiting socket can make the aggregator buffer.
 * - `fragments`: each socket sends 255 non-final 64-byte fragments (the limit is 256) and holds them.
 *
 * During `held` and `fragments` (pool full) a real bank joins; its join time is reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { encodeFrame, PROTOCOL_VERSION } from '@finsecure/common/protocol';
import { BENCH_ADMIN_TOKEN } from './bench-federation.js';
import {
  BENCH_DIR,
  bytes,
  num,
  procStatus,
  resetPeak,
  target,
  type Benchmark,
  type BenchContext,
  type Row,
} from './lib.js';

const SOCKETS = 256;
const HELLO_LIMIT = 64 * 1024;
/** The aggregator's fragment limit per message (server/admission/ws-limits.ts): sent all but the last. */
const FRAGMENTS = 256;
type Scenario = 'churn' | 'oversize' | 'held' | 'fragments';

interface AttackRequest {
  port: number;
  scenario: Scenario;
  sockets: number;
  durationMs: number;
}

interface AttackReport {
  /** Connections opened in all. */
  attempts: number;
  /** How the server closed them: close code → count ("none" = TCP closed without a close frame). */
  closes: Record<string, number>;
  /** Bytes the attackers wrote. */
  sent: number;
  /** Sockets still open when the scenario's hold began. */
  holding: number;
}

// ---------------------------------------------------------------- attacker (child process)

function attackerAddress(i: number): string {
  return `127.1.${1 + (i >> 7)}.${1 + (i & 127)}`;
}

/** A masked client frame header (RFC 6455 §5.2) with a zero mask key, so the payload is sent as is. */
function header(opcode: number, length: number, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  const mask = Buffer.alloc(4);
  if (length < 126) return Buffer.concat([Buffer.from([first, 0x80 | length]), mask]);
  if (length < 65536) {
    const b = Buffer.from([first, 0x80 | 126, 0, 0]);
    b.writeUInt16BE(length, 2);
    return Buffer.concat([b, mask]);
  }
  const b = Buffer.alloc(10);
  b[0] = first;
  b[1] = 0x80 | 127;
  b.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([b, mask]);
}

/** Opens a raw TCP socket from `from`, upgrades it to WebSocket; resolves with it and the close code it gets. */
function upgrade(port: number, from: string): Promise<{ sock: net.Socket; closed: Promise<string> } | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress: from });
    sock.setMaxListeners(0); // one 'close' listener per awaited drain below
    let head = Buffer.alloc(0);
    let upgraded = false;
    let code = 'none';
    const closed = new Promise<string>((r) => sock.once('close', () => r(code)));
    sock.on('error', () => {});
    sock.once('connect', () =>
      sock.write(
        `GET /ws/bank HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    sock.on('data', (chunk: Buffer) => {
      if (upgraded) {
        // A server frame: the first one we care about is the close (opcode 8) and its code.
        if ((chunk[0]! & 0x0f) === 0x8 && chunk.length >= 4) code = String(chunk.readUInt16BE(2));
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      const rest = head.subarray(end + 4);
      if ((rest[0]! & 0x0f) === 0x8 && rest.length >= 4) code = String(rest.readUInt16BE(2));
      resolve({ sock, closed });
    });
    void closed.then(() => {
      if (!upgraded) resolve(null);
    });
  });
}

async function attack(req: AttackRequest, report: AttackReport, stop: { now: boolean }): Promise<net.Socket[]> {
  const zeros = Buffer.alloc(256 * 1024);
  const held: net.Socket[] = [];
  const count = (code: string) => (report.closes[code] = (report.closes[code] ?? 0) + 1);
  const write = (sock: net.Socket, b: Buffer) => {
    report.sent += b.length;
    return sock.write(b);
  };
  const one = async (i: number): Promise<void> => {
    const from = attackerAddress(i);
    if (req.scenario === 'oversize' || req.scenario === 'churn') {
      const end = Date.now() + req.durationMs;
      while (!stop.now && Date.now() < end) {
        report.attempts++;
        const c = await upgrade(req.port, from);
        if (!c) {
          count('refused-before-upgrade');
          continue;
        }
        if (req.scenario === 'churn') {
          // The reference: the same connection rate without a frame (upgrade, then hang up).
          c.sock.destroy();
          count(await c.closed);
          continue;
        }
        let open = true;
        void c.closed.then(() => (open = false));
        write(c.sock, header(0x2, 64 * 1024 * 1024));
        // Stream zeros as fast as the socket takes them, until the server closes it or 64 MiB are out.
        for (let sent = 0; open && sent < 64 * 1024 * 1024; sent += zeros.length)
          if (!write(c.sock, zeros)) await new Promise((r) => c.sock.once('drain', r).once('close', r));
        c.sock.destroy();
        count(await c.closed);
      }
      return;
    }
    report.attempts++;
    const c = await upgrade(req.port, from);
    if (!c) return void count('refused-before-upgrade');
    void c.closed.then((code) => count(code));
    if (req.scenario === 'held') {
      write(c.sock, header(0x2, HELLO_LIMIT));
      write(c.sock, Buffer.alloc(HELLO_LIMIT - 1));
    } else {
      for (let f = 0; f < FRAGMENTS - 1; f++)
        write(c.sock, Buffer.concat([header(f === 0 ? 0x2 : 0x0, 64, false), zeros.subarray(0, 64)]));
    }
    held.push(c.sock);
  };
  await Promise.all(Array.from({ length: req.sockets }, (_, i) => one(i)));
  report.holding = held.filter((s) => !s.destroyed).length;
  return held;
}

// ---------------------------------------------------------------- measuring (this process)

interface ChildAggregator {
  child: ChildProcess;
  url: string;
  wsUrl: string;
}

const CLI = path.join(BENCH_DIR, '..', 'packages', 'aggregator', 'bin', 'finsecure-aggregator.js');

/**
 * Starts the real aggregator CLI (built dist/) on a free loopback port, SQLite in `dataDir`,
 * and waits for its "aggregator listening" log line. Hello timeouts are raised to 60 s so
 * that no waiting socket expires during a scenario (the defaults close idle ones after 3 s).
 */
async function spawnAggregator(dataDir: string): Promise<ChildAggregator> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--backend',
      'cpu',
      '--hello-timeout',
      '60000',
      '--unknown-peer-hello-timeout',
      '60000',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FINSECURE_ADMIN_TOKEN: BENCH_ADMIN_TOKEN } },
  );
  child.stderr!.resume(); // the first admin's one-time password: not needed here
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = /"url":"(http:\/\/[^"]+)".*aggregator listening/.exec(line);
        if (m) {
          child.stdout!.off('data', onData);
          child.stdout!.resume(); // keep draining the log (refusal lines) so the child never blocks
          resolve(m[1]!);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`aggregator exited (${code}) before listening`)));
  });
  return { child, url, wsUrl: url.replace(/^http/, 'ws') };
}

/** Registers a bank through the admin API; returns its token. */
async function registerBank(url: string, id: string): Promise<string> {
  const res = await fetch(`${url}/api/banks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id }),
  });
  if (res.status !== 201) throw new Error(`POST /api/banks ${id}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Joins as a bank and returns the milliseconds from connect to welcome. */
async function bankJoinMs(wsUrl: string, id: string, token: string): Promise<number> {
  const t0 = performance.now();
  const ws = new WebSocket(`${wsUrl}/ws/bank`);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () =>
        ws.send(
          encodeFrame({
            type: 'hello',
            protocolVersion: PROTOCOL_VERSION,
            bankId: id,
            token,
            clientVersion: 'bench',
            backend: 'cpu',
            numExamples: 100,
            numFeatures: 30,
            numTestExamples: 0,
          }),
        ),
      );
      ws.once('message', () => resolve()); // the welcome
      ws.once('close', (code, reason) => reject(new Error(`bank refused: ${code} ${reason.toString()}`)));
      ws.once('error', reject);
    });
    return performance.now() - t0;
  } finally {
    ws.terminate();
  }
}

interface ScenarioResult {
  scenario: Scenario;
  /** Aggregator RSS, idle, after start-up and one bank registered. */
  baselineRss: number;
  /** Highest RSS sampled (20 ms) or, where the kernel allows resetting it, VmHWM. */
  peakRss: number;
  /** RSS 1.5 s after the attack stopped. */
  afterRss: number;
  report: AttackReport;
  bankJoinMs: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runScenario(ctx: BenchContext, scenario: Scenario): Promise<ScenarioResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'finsecure-bench-preauth-'));
  const agg = await spawnAggregator(dir);
  const pid = agg.child.pid!;
  try {
    const token = await registerBank(agg.url, 'bank-1');
    await sleep(500);
    const baselineRss = procStatus(pid, 'VmRSS');
    const hwmReset = resetPeak(pid);
    let sampled = baselineRss;
    const sampler = setInterval(() => (sampled = Math.max(sampled, procStatus(pid, 'VmRSS'))), 20);
    const port = Number(new URL(agg.url).port);
    const stop = { now: false };
    const report: AttackReport = { attempts: 0, closes: {}, sent: 0, holding: 0 };
    const held = await attack(
      { port, scenario, sockets: SOCKETS, durationMs: ctx.quick ? 2_000 : 6_000 },
      report,
      stop,
    );
    let joinMs: number | null = null;
    if (scenario === 'held' || scenario === 'fragments') {
      // The pool is full: the bank gets in by evicting the oldest idle socket.
      await sleep(ctx.quick ? 500 : 2_000);
      joinMs = await bankJoinMs(agg.wsUrl, 'bank-1', token);
    }
    stop.now = true;
    for (const s of held) s.destroy();
    await sleep(1_500);
    clearInterval(sampler);
    const peakRss = Math.max(sampled, hwmReset ? procStatus(pid, 'VmHWM') : 0);
    const afterRss = procStatus(pid, 'VmRSS');
    ctx.log(
      `${scenario}: peak RSS ${bytes(peakRss)} (baseline ${bytes(baselineRss)}), closes ${JSON.stringify(report.closes)}`,
    );
    return { scenario, baselineRss, peakRss, afterRss, report, bankJoinMs: joinMs };
  } finally {
    const exited = new Promise((r) => agg.child.once('exit', r));
    agg.child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

export const preauthMemory: Benchmark = {
  name: 'preauth-memory',
  title: 'Aggregator memory under 256 unauthenticated sockets',
  description: 'aggregator RSS while 256 anonymous sockets send maximal frames (oversized, held, fragmented)',
  async run(ctx) {
    if (process.platform !== 'linux') throw new Error('preauth-memory reads /proc/<pid>/status: Linux only');
    const results: ScenarioResult[] = [];
    for (const s of ['churn', 'oversize', 'held', 'fragments'] as const) results.push(await runScenario(ctx, s));
    const MB = 1e6;
    const rows: Row[] = results.map((r) => ({
      scenario: r.scenario,
      'baseline RSS': bytes(r.baselineRss),
      'peak RSS': bytes(r.peakRss),
      growth: bytes(r.peakRss - r.baselineRss),
      after: bytes(r.afterRss),
      attempts: num(r.report.attempts),
      'attacker bytes sent': bytes(r.report.sent),
      'closes (code: n)': Object.entries(r.report.closes)
        .map(([c, n]) => `${c}: ${n}`)
        .join(', '),
      'bank join (ms)': r.bankJoinMs === null ? '' : num(r.bankJoinMs, 1),
    }));
    return {
      tables: [{ title: `${SOCKETS} unauthenticated sockets, each from its own loopback address`, rows }],
      targets: results.map((r) => target(`peak aggregator RSS, ${r.scenario}`, r.peakRss / MB, '<=', 200, 'MB')),
      notes: [
        'before the fix (issue 12): 8 sockets sending 60 MB frames took the aggregator from 137 MB to 745 MB',
        'hello timeouts raised to 60 s for the run, so that no waiting socket expires during a scenario',
        'churn and oversize reconnect as fast as they can: their growth is garbage (sockets, 64 KiB reads) ' +
          'that the GC collects in bulk, so it plateaus instead of growing with the duration',
      ],
      data: { sockets: SOCKETS, results },
    };
  },
};
