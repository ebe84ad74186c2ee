/**
 * `flood`: one member bank floods the aggregator during rounds (issue 12, A4: 5,000 `decline`
 * frames, 2.6 MB, once made a 0.6 s round take 20.6 s and an honest update arrive "late").
 * A real aggregator in this process (loopback, temporary SQLite) runs rounds with 5 honest
 * bank clients in this process that "train" 100 ms and send a fixed MLP delta, and decline
 * the evaluation (so a round is assignment → updates → FedAvg → commit). Clean rounds first,
 * then rounds in which a sixth bank, as soon as it gets its assignment, sends 5,000 declines
 * of 400 bytes at once (it reconnects for each round). Round time = the stored round's
 * `durations.totalMs`. Target: the median flooded round within 10 % of the median clean round
 * (and no honest update refused). The flooding bank runs in a child process (its own event loop
 * and CPU, as a remote bank would), the honest ones in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, FederationServerMessage, PROTOCOL_VERSION } from '@finsecure/common/protocol';
import type { RoundRecord } from '@finsecure/common/api';
import { median, num, target, type Benchmark, type BenchContext, type BenchResult } from './lib.js';
import { registerBanks, startBenchAggregator } from './bench-federation.js';
import { MLP_PARAMETERS } from './light-bank.js';

const HONEST = 5;
const THIS_FILE = fileURLToPath(import.meta.url);
const CLIENT_FLAG = '--flood-client';
const FLOOD_FRAMES = 5_000;

interface Client {
  ws: WebSocket;
  close(): void;
}

/** A bank client that answers assignments after `trainMs` with a fixed delta and declines evaluations. */
async function honestBank(url: string, id: string, token: string, trainMs: number, refused: string[]): Promise<Client> {
  const ws = new WebSocket(url);
  const delta = new Float32Array(MLP_PARAMETERS).fill(1e-4);
  let pending: Uint8Array | null = null;
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('message', (raw: Buffer) => {
    const { msg } = decodeFrame(new Uint8Array(raw), FederationServerMessage);
    if (msg.type === 'heartbeat') ws.send(encodeFrame({ type: 'heartbeat', sentAt: Date.now() }));
    if (msg.type === 'round_assignment')
      setTimeout(() => {
        const update = {
          type: 'update' as const,
          roundId: msg.roundId,
          modelVersion: msg.modelVersion,
          kind: 'delta' as const,
          numExamples: 500,
          numTrained: 500,
          loss: 0.3,
          timings: { trainMs, prepareMs: 0 },
        };
        // Pull protocol (issue 14): offer, and send the frame when granted.
        pending = encodeFrame(update, [{ name: 'update', shape: [MLP_PARAMETERS], data: delta }]);
        const { roundId, modelVersion, numExamples } = update;
        ws.send(encodeFrame({ type: 'update_offer', roundId, modelVersion, bytes: pending.byteLength, numExamples }));
      }, trainMs);
    if (msg.type === 'upload_grant' && pending) {
      ws.send(pending);
      pending = null;
    }
    if (msg.type === 'evaluation_request')
      ws.send(encodeFrame({ type: 'decline', roundId: msg.roundId, reason: 'no test split in the bench' }));
    if (msg.type === 'ack' && !msg.accepted) refused.push(`${id}: ${msg.reason}`);
  });
  ws.send(encodeFrame(hello(id, token)));
  return { ws, close: () => ws.close() };
}

function hello(id: string, token: string) {
  return {
    type: 'hello' as const,
    protocolVersion: PROTOCOL_VERSION,
    bankId: id,
    token,
    clientVersion: 'bench',
    backend: 'cpu' as const,
    numExamples: 500,
    numTestExamples: 0,
    numFeatures: 30,
  };
}

/** The flooding bank: on its assignment it sends FLOOD_FRAMES declines at once. */
async function floodingBank(url: string, id: string, token: string): Promise<Client> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  ws.on('message', (raw: Buffer) => {
    const { msg } = decodeFrame(new Uint8Array(raw), FederationServerMessage);
    if (msg.type !== 'round_assignment') return;
    const frame = encodeFrame({ type: 'decline', roundId: msg.roundId, reason: 'x'.repeat(400) });
    for (let i = 0; i < FLOOD_FRAMES && ws.readyState === WebSocket.OPEN; i++) ws.send(frame);
  });
  ws.send(encodeFrame(hello(id, token)));
  return { ws, close: () => ws.close() };
}

/** The flooding bank in a child process (tsx's loader flags are in process.execArgv). */
function spawnFlooder(url: string, id: string, token: string): ChildProcess {
  return spawn(
    process.execPath,
    [...process.execArgv.filter((a) => a !== '--expose-gc'), THIS_FILE, CLIENT_FLAG, url, id, token],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

if (process.argv.includes(CLIENT_FLAG)) {
  const [url, id, token] = process.argv.slice(process.argv.indexOf(CLIENT_FLAG) + 1) as [string, string, string];
  const client = await floodingBank(url, id, token);
  client.ws.on('close', () => process.exit(0));
}

async function waitCommitted(url: string, token: string, n: number, timeoutMs: number): Promise<RoundRecord[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/api/rounds`, { headers: { authorization: `Bearer ${token}` } });
    const rounds = (await res.json()) as RoundRecord[];
    if (rounds.filter((r) => r.status === 'committed').length >= n) return rounds;
    if (Date.now() > end) throw new Error(`fewer than ${n} committed rounds after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const rounds = ctx.quick ? 3 : 6;
  const dir = await mkdtemp(path.join(tmpdir(), 'finsecure-bench-flood-'));
  const agg = await startBenchAggregator({ banks: HONEST, rounds: 2 * rounds, dataDir: dir });
  const clients: Client[] = [];
  const refused: string[] = [];
  try {
    const creds = await registerBanks(agg, HONEST + 1);
    const url = `${agg.wsUrl}/ws/bank`;
    for (const c of creds.slice(0, HONEST)) clients.push(await honestBank(url, c.id, c.token, 100, refused));
    const [flooder] = creds.slice(HONEST) as [{ id: string; token: string }];
    await fetch(`${agg.url}/api/training/start`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agg.adminToken}` },
    });
    ctx.log(`${rounds} clean rounds with ${HONEST} banks`);
    await waitCommitted(agg.url, agg.adminToken, rounds, 120_000);
    // Pause training between phases so that the flooder is connected before a round starts.
    for (let k = 0; k < rounds; k++) {
      await fetch(`${agg.url}/api/training/pause`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agg.adminToken}` },
      });
      while (agg.federation.status().currentRound) await new Promise((r) => setTimeout(r, 10));
      const f = spawnFlooder(url, flooder.id, flooder.token);
      while (!agg.federation.isConnected(flooder.id)) await new Promise((r) => setTimeout(r, 10));
      await fetch(`${agg.url}/api/training/start`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agg.adminToken}` },
      });
      await waitCommitted(agg.url, agg.adminToken, rounds + k + 1, 120_000);
      f.kill();
      ctx.log(`flooded round ${k + 1} of ${rounds}`);
    }
    const all = (await waitCommitted(agg.url, agg.adminToken, 2 * rounds, 10_000)).filter(
      (r) => r.status === 'committed',
    );
    all.sort((a, b) => a.id - b.id);
    const clean = all.slice(0, rounds).map((r) => r.durations.totalMs ?? NaN);
    const flooded = all.slice(rounds).map((r) => r.durations.totalMs ?? NaN);
    const ratio = median(flooded) / median(clean);
    const phase = (rs: RoundRecord[], k: 'trainingMs' | 'aggregationMs' | 'evaluationMs') =>
      num(median(rs.map((r) => r.durations[k] ?? NaN)));
    const rows = [
      {
        rounds: 'clean',
        n: clean.length,
        'min ms': num(Math.min(...clean)),
        'median ms': num(median(clean)),
        'max ms': num(Math.max(...clean)),
        'fit ms': phase(all.slice(0, rounds), 'trainingMs'),
        'aggregate ms': phase(all.slice(0, rounds), 'aggregationMs'),
        'evaluate ms': phase(all.slice(0, rounds), 'evaluationMs'),
      },
      {
        rounds: 'one bank flooding',
        n: flooded.length,
        'min ms': num(Math.min(...flooded)),
        'median ms': num(median(flooded)),
        'max ms': num(Math.max(...flooded)),
        'fit ms': phase(all.slice(rounds), 'trainingMs'),
        'aggregate ms': phase(all.slice(rounds), 'aggregationMs'),
        'evaluate ms': phase(all.slice(rounds), 'evaluationMs'),
      },
    ];
    return {
      tables: [{ title: `Round time, ${HONEST} honest banks, a sixth sending ${FLOOD_FRAMES} declines`, rows }],
      targets: [
        target('flooded round / clean round (median)', ratio, '<=', 1.1, '×'),
        target('honest updates refused', refused.length, '<=', 0, ''),
      ],
      notes: refused.length ? [`refused: ${refused.slice(0, 5).join('; ')}`] : [],
      data: { clean, flooded, ratio, refused },
    };
  } finally {
    for (const c of clients) c.close();
    await agg.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export const flood: Benchmark = {
  name: 'flood',
  title: 'One bank flooding the aggregator during rounds',
  description: 'round time with a member bank sending 5,000 frames at once, against clean rounds (issue 12)',
  run,
};
