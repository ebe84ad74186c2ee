/**
 * A bank evaluates only the candidate of the round it trains in, and once (frame-dispatch.ts
 * admitEvaluation): a real BankClient against a server on 127.0.0.1 that speaks the protocol as
 * a dishonest aggregator might. Before, a bank answered any evaluation request at any time, so
 * an aggregator could ask again and again with weights whose score is one feature and read a test
 * row's value out of the histograms (egress review).
 */
import { once } from 'node:events';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_TRAINING } from '@finsecure/aggregator';
import { writeSyntheticCsv } from '@finsecure/common/data';
import { parameterCount } from '@finsecure/common/model';
import { decodeClientMessage, encodeFrame, PROTOCOL_VERSION } from '@finsecure/common/protocol';
import { cleanup, tempDir } from '../../aggregator/test/helpers/federation.js';
import { BankClient } from '../src/client.js';
import { loadBankConfig } from '../src/config.js';
import { loadLocalData } from '../src/local-data.js';
import { openBankState } from '../src/state-crypto/index.js';

const F = 30; // the synthetic file's features (Time, V1..V28, Amount)
const SPEC = { inputSize: F, hidden: [4], dropout: 0 };
let dir: string;
let server: WebSocketServer;
let bank: BankClient | undefined;
let socket: WebSocket | null = null;
const arrived: { type: string; roundId?: number; reason?: string }[] = [];
const waiters: (() => void)[] = [];

beforeAll(async () => {
  dir = tempDir('finsecure-eval-guard-');
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  server.on('connection', (ws) =>
    ws.on('message', (raw: Buffer) => {
      const { msg } = decodeClientMessage(new Uint8Array(raw));
      if (msg.type === 'hello') {
        socket = ws;
        ws.send(
          encodeFrame({
            type: 'welcome',
            model: SPEC,
            protocolVersion: PROTOCOL_VERSION,
            bankId: msg.bankId,
            serverVersion: 'test',
            heartbeatIntervalMs: 60_000,
            maxFrameBytes: 1 << 24,
            modelVersion: 0,
          }),
        );
      } else if (msg.type !== 'heartbeat') {
        arrived.push(msg as (typeof arrived)[number]);
      }
      for (const w of waiters.splice(0)) w();
    }),
  );
  const { port } = server.address() as { port: number };
  const data = path.join(dir, 'bank.csv');
  await writeSyntheticCsv({ rows: 600, fraudRate: 0.05, seed: 3 }, data);
  const stateDir = path.join(dir, 'state');
  openBankState(stateDir, { key: Buffer.alloc(32, 7), source: 'test' });
  const config = loadBankConfig({
    flags: {
      server: `ws://127.0.0.1:${port}`,
      bankId: 'bank-a',
      token: 'x'.repeat(24),
      data,
      testFraction: 0.3,
      stateDir,
      backend: 'cpu',
      logLevel: 'silent',
    },
  });
  bank = new BankClient(config, await loadLocalData(config), pino({ level: 'silent' }));
  await bank.start();
  while (!socket) await new Promise<void>((r) => waiters.push(r));
}, 60_000);

afterAll(async () => {
  await bank?.stop();
  server?.close();
  cleanup(dir);
});

/** The next message of `type` for `roundId` the bank sends. */
async function next(type: string, roundId: number) {
  for (;;) {
    const i = arrived.findIndex((m) => m.type === type && m.roundId === roundId);
    if (i >= 0) return arrived.splice(i, 1)[0]!;
    await new Promise<void>((r) => waiters.push(r));
  }
}

const weights = () => new Float32Array(parameterCount(SPEC)).fill(0.01);
const scaler = { mean: Array<number>(F).fill(0), std: Array<number>(F).fill(1) };

function evaluationRequest(roundId: number) {
  socket!.send(
    encodeFrame(
      {
        type: 'evaluation_request',
        roundId,
        modelVersion: 0,
        deadlineInMs: 60_000,
        threshold: 0.5,
        histogramBins: 1000,
        scaler,
      },
      [{ name: 'global', shape: [parameterCount(SPEC)], data: weights() }],
    ),
  );
}

describe('evaluation requests', () => {
  it('are declined outside a round the bank trains in, answered once in it, then declined', async () => {
    evaluationRequest(7);
    const outside = await next('decline', 7);
    expect(outside.reason).toMatch(/evaluates only the candidate of a round it trains in/);

    socket!.send(
      encodeFrame(
        {
          type: 'round_assignment',
          roundId: 8,
          modelVersion: 0,
          deadlineInMs: 60_000,
          config: { ...DEFAULT_TRAINING, epochs: 1, batchSize: 64 },
          scaler,
          preGrantedUpload: { maxBytes: 1 << 20 },
        },
        [{ name: 'global', shape: [parameterCount(SPEC)], data: weights() }],
      ),
    );
    await next('update', 8);
    evaluationRequest(8);
    expect((await next('evaluation', 8)).type).toBe('evaluation');
    evaluationRequest(8);
    expect((await next('decline', 8)).reason).toMatch(/already evaluated round 8/);
    expect(arrived.filter((m) => m.type === 'evaluation')).toEqual([]);
  }, 60_000);
});
