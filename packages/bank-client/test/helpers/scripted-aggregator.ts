/**
 * A real BankClient against a server on 127.0.0.1 that the test scripts frame by frame, as a
 * dishonest aggregator might: it welcomes the bank, then sends whatever the test sends and keeps
 * what the bank answers. For the bank's own guards (what it answers, what it declines), which an
 * honest aggregator never exercises.
 */
import { once } from 'node:events';
import path from 'node:path';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_TRAINING } from '@finsecure/aggregator';
import { writeSyntheticCsv } from '@finsecure/common/data';
import { parameterCount } from '@finsecure/common/model';
import {
  decodeClientMessage,
  encodeFrame,
  HISTOGRAM_TENSOR_FIELDS,
  PROTOCOL_VERSION,
} from '@finsecure/common/protocol';
import { BankClient } from '../../src/client.js';
import { loadBankConfig, type BankConfigInput } from '../../src/config/index.js';
import { loadLocalData } from '../../src/local-data.js';
import { openBankState } from '../../src/state-crypto/index.js';

const F = 30; // the synthetic file's features (Time, V1..V28, Amount)
export const SPEC = { inputSize: F, hidden: [4], dropout: 0 };
export const scaler = { mean: Array<number>(F).fill(0), std: Array<number>(F).fill(1) };
const weights = () => new Float32Array(parameterCount(SPEC)).fill(0.01);
const global = () => [{ name: 'global', shape: [parameterCount(SPEC)], data: weights() }];

export interface Answer {
  type: string;
  roundId?: number;
  reason?: string;
  /** An evaluation's histogram, as decoded (its counts a Uint32Array when they came as tensors). */
  histogram?: { positives: ArrayLike<number> };
}

export interface ScriptedAggregator {
  /** Every message the bank sent after its hello, heartbeats left out, in order (next() takes them out). */
  readonly arrived: Answer[];
  /** The next message of `type` for `roundId` the bank sends. */
  next(type: string, roundId: number): Promise<Answer>;
  /** A plain round's assignment, its upload granted in advance. */
  assign(roundId: number): void;
  evaluationRequest(roundId: number, histogramBins?: number): void;
  /** Sends any frame (its header) to the bank. */
  send(header: Record<string, unknown> & { type: string }): void;
  stop(): Promise<void>;
}

/**
 * Starts the server and a bank `bank-a` (600 synthetic rows, 30 % test) under `dir`, with
 * `flags` added to its settings (e.g. a roster); resolves once the bank's hello is welcomed.
 */
export async function scriptedAggregator(
  dir: string,
  flags: Partial<BankConfigInput> = {},
  /** What its welcome says it reads (AGGREGATOR_FEATURES); none by default, as an older aggregator. */
  features?: string[],
): Promise<ScriptedAggregator> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  let socket: WebSocket | null = null;
  const arrived: Answer[] = [];
  const waiters: (() => void)[] = [];
  const wait = () => new Promise<void>((r) => waiters.push(r));
  server.on('connection', (ws) =>
    ws.on('message', (raw: Buffer) => {
      const { msg } = decodeClientMessage(new Uint8Array(raw), { tensorFields: HISTOGRAM_TENSOR_FIELDS });
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
            ...(features ? { features } : {}),
          }),
        );
      } else if (msg.type !== 'heartbeat') {
        arrived.push(msg as Answer);
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
      ...flags,
    },
  });
  const bank = new BankClient(config, await loadLocalData(config), pino({ level: 'silent' }));
  await bank.start();
  while (!socket) await wait();
  const send = (header: Record<string, unknown> & { type: string }, tensors?: ReturnType<typeof global>) =>
    socket!.send(encodeFrame(header as never, tensors));
  return {
    arrived,
    async next(type, roundId) {
      for (;;) {
        const i = arrived.findIndex((m) => m.type === type && m.roundId === roundId);
        if (i >= 0) return arrived.splice(i, 1)[0]!;
        await wait();
      }
    },
    assign(roundId) {
      const header = {
        type: 'round_assignment',
        roundId,
        modelVersion: 0,
        deadlineInMs: 60_000,
        config: { ...DEFAULT_TRAINING, epochs: 1, batchSize: 64 },
        scaler,
        preGrantedUpload: { maxBytes: 1 << 20 },
      };
      send(header, global());
    },
    evaluationRequest(roundId, histogramBins = 1000) {
      const header = {
        type: 'evaluation_request',
        roundId,
        modelVersion: 0,
        deadlineInMs: 60_000,
        threshold: 0.5,
        histogramBins,
        scaler,
      };
      send(header, global());
    },
    send: (header) => send(header),
    async stop() {
      await bank.stop();
      server.close();
    },
  };
}
