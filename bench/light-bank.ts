/**
 * The light bank client shared by the `round-overhead` and `scale` benchmarks: many
 * protocol-speaking banks in ONE child process, with no model, no data and no training.
 *
 * Each light bank opens a WebSocket to the aggregator's `/ws/bank`, sends a `hello` with
 * the token the admin API issued for it, and then answers, using the shared protocol of
 * `@finsecure/common/protocol`:
 * - `welcome`: from then on, like the bank daemon (the same startHeartbeat), a heartbeat of its
 *   own in every heartbeat interval the welcome names in which it sent nothing else (the
 *   aggregator's heartbeats are not answered, as the daemon's are not);
 * - `round_assignment`: after a simulated training time (uniform in `trainMs`, from a
 *   deterministic xorshift32 stream), sends one precomputed float32 delta of `parameters`
 *   values at once if the assignment granted the upload in advance (`preGrantedUpload`), else
 *   offers it (`update_offer`, the pull protocol of issue 14) and sends it on `upload_grant` (the
 *   frame is encoded again at the grant rather than kept: 500 waiting 1M-parameter banks would
 *   otherwise hold 2 GB in this process);
 * - `evaluation_request`: at once, with a fixed confusion matrix and a precomputed
 *   histogram consistent with it (1000 bins of the standard layout, or the requested number),
 *   its counts as uint32 tensors when the welcome lists `binary-histograms`;
 * - `round_committed`: records the arrival time.
 * Rejected acks, protocol errors and undecodable frames are collected as error strings.
 *
 * Per round it records the first and last assignment received, the last commit
 * received and the longest assignment → update-sent interval (the "training"), which
 * the benchmarks turn into wall time and overhead (see `overheadRows` in
 * bench/round-overhead.ts).
 *
 * The banks run in a separate process so that their work shares neither the
 * aggregator's event loop nor its memory figures. Parent side (light-banks.ts): `LightBanks.spawn()`,
 * then `start()` (connect all, resolves when every bank has its welcome or failed),
 * `report()` (timings and errors so far), `post()` (an HTTP request made from the child, such as the
 * admin's POST that starts training) and `stop()`. Child side: this file run with
 * `--light-bank-driver` (what `spawn()` does) serves those requests over IPC.
 *
 * What differs between the benchmarks is an option of `start()`: the simulated training
 * time (`trainMs`), how many connections are opened at once (`concurrency`), the size of
 * the update (`parameters`) and the `numFeatures` announced in the hello.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { standsInForBeat, startHeartbeat, type RunningHeartbeat } from '@finsecure/bank-client/heartbeat';
import { emptyHistogram } from '@finsecure/common/metrics';
import {
  decodeFrame,
  encodeFrame,
  type ClientMessage,
  AGGREGATOR_FEATURES,
  BANK_FEATURES,
  HISTOGRAM_TENSOR_FIELDS,
  PROTOCOL_VERSION,
  splitTensorFields,
  ServerMessage,
  type ScoreHistogram,
} from '@finsecure/common/protocol';

export const THIS_FILE = fileURLToPath(import.meta.url);
/** Command-line flag that makes this file run as the driver (child) process. */
export const DRIVER_FLAG = '--light-bank-driver';
/** Parameters of the default MLP (30 → 64 → 32 → 1): the usual `parameters` for `start()`. */
export const MLP_PARAMETERS = 30 * 64 + 64 + 64 * 32 + 32 + 32 + 1;
/** Epoch ms with sub-ms resolution, comparable with the aggregator's RoundRecord times. */
const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- the light client (child side)

/** The `start` request: where to connect, which banks, and how they behave. */
export interface DriverStart {
  type: 'start';
  /** The aggregator's bank endpoint, e.g. `ws://127.0.0.1:1234/ws/bank`. */
  wsUrl: string;
  /** Bank ids and the tokens the admin API issued for them (see registerBanks). */
  banks: { id: string; token: string }[];
  /** Simulated training time per round, uniform in [min, max] ms. */
  trainMs: [number, number];
  /** Length of the precomputed float32 delta sent as every update. */
  parameters: number;
  /** Announced in the hello; must match the aggregator's model. */
  numFeatures: number;
  /** Connections opened at once while connecting. */
  concurrency: number;
}

/** What the light banks saw of one round, over all of them. */
export interface RoundTiming {
  round: number;
  /** Epoch ms (fractional): first / last assignment received, last commit received. */
  firstAssign: number;
  lastAssign: number;
  lastCommit: number;
  /** Longest assignment→update-offered interval over the banks (the "training"). */
  maxTrainMs: number;
  /** Updates sent (when granted) / round_committed messages received, over all banks. */
  updates: number;
  commits: number;
}

/** Answers of the driver: `ready` to `start`, `timings` to `report`. */
export type DriverMessage =
  | { type: 'ready'; connected: number; failed: number; connectMs: number; memory: NodeJS.MemoryUsage }
  | { type: 'timings'; rounds: RoundTiming[]; errors: string[]; memory: NodeJS.MemoryUsage }
  | { type: 'posted'; status: number; body: string };

/** The `post` request: an HTTP POST the child makes for the parent (see `LightBanks.post`). */
export interface DriverPost {
  type: 'post';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** Many light banks in one process, driven by the parent over IPC. */
class LightBankDriver {
  private readonly sockets: WebSocket[] = [];
  private readonly rounds = new Map<number, RoundTiming>();
  private readonly errors: string[] = [];
  private delta: Float32Array = new Float32Array(0);
  private seed = 12345;

  private rand(): number {
    // xorshift32: cheap, deterministic jitter.
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 4294967296;
  }

  private timing(round: number): RoundTiming {
    let t = this.rounds.get(round);
    if (!t)
      this.rounds.set(
        round,
        (t = { round, firstAssign: Infinity, lastAssign: 0, lastCommit: 0, maxTrainMs: 0, updates: 0, commits: 0 }),
      );
    return t;
  }

  /** Connects every bank, `concurrency` at a time; resolves once each is welcomed or has failed. */
  async start(cfg: DriverStart): Promise<DriverMessage> {
    this.delta = Float32Array.from({ length: cfg.parameters }, (_, i) => Math.sin(i) * 1e-3);
    const hist = lightHistogram(1000);
    const t0 = now();
    let failed = 0;
    const queue = [...cfg.banks];
    const worker = async () => {
      for (let b = queue.shift(); b; b = queue.shift()) {
        try {
          this.sockets.push(await this.connect(cfg, b, hist));
        } catch (err) {
          failed++;
          this.errors.push(`${b.id}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, cfg.concurrency) }, worker));
    return {
      type: 'ready',
      connected: this.sockets.length,
      failed,
      connectMs: now() - t0,
      memory: process.memoryUsage(),
    };
  }

  /** Opens one bank's socket, says hello and answers the aggregator; resolves on `welcome`. */
  private connect(cfg: DriverStart, bank: { id: string; token: string }, hist: ScoreHistogram): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(cfg.wsUrl, { maxPayload: 256 * 1024 * 1024 });
      ws.binaryType = 'nodebuffer';
      let welcomed = false;
      let binaryHistograms = false;
      /** The daemon's heartbeat (bank-client heartbeat.ts): beats only in intervals nothing else was sent. */
      let heartbeat: RunningHeartbeat | null = null;
      /** The update offered and waiting for its grant (its frame is built when granted). */
      let pending: { roundId: number; frame: () => Uint8Array } | null = null;
      const sendFrame = (frame: Uint8Array, standsInForBeat = true) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(frame, { binary: true });
        if (standsInForBeat) heartbeat?.sent();
      };
      const send = (msg: ClientMessage, tensors: Parameters<typeof encodeFrame>[1] = []) =>
        sendFrame(encodeFrame(msg, tensors), standsInForBeat(msg.type));
      ws.on('open', () => {
        send({
          type: 'hello',
          protocolVersion: PROTOCOL_VERSION,
          bankId: bank.id,
          token: bank.token,
          clientVersion: 'bench-light',
          backend: 'cpu',
          numExamples: 1000,
          numFraud: 10,
          numTestExamples: 100,
          numFeatures: cfg.numFeatures,
          // As a real bank (bank-client hello.ts): models it holds are named, not sent again;
          // FINSECURE_BENCH_MODEL_BY_REFERENCE=0 makes it a bank that is sent every model (A/B).
          ...(process.env.FINSECURE_BENCH_MODEL_BY_REFERENCE === '0'
            ? {}
            : { features: [BANK_FEATURES.modelByReference] }),
        });
      });
      ws.on('message', (raw: Buffer) => {
        let decoded;
        try {
          decoded = decodeFrame(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), ServerMessage);
        } catch (err) {
          this.errors.push(`${bank.id}: undecodable frame: ${(err as Error).message}`);
          return;
        }
        const msg = decoded.msg;
        switch (msg.type) {
          case 'welcome':
            welcomed = true;
            // FINSECURE_BENCH_BINARY_HISTOGRAMS=0 makes it a bank that sends the histograms as JSON (A/B).
            binaryHistograms =
              process.env.FINSECURE_BENCH_BINARY_HISTOGRAMS !== '0' &&
              (msg.features ?? []).includes(AGGREGATOR_FEATURES.binaryHistograms);
            heartbeat = startHeartbeat(msg.heartbeatIntervalMs, msg.heartbeatTimeoutMs, {
              // Never gives up: the light bank does not watch the aggregator's silence.
              lastFromServer: () => Date.now(),
              beat: () => send({ type: 'heartbeat', sentAt: Date.now() }),
              giveUp: () => {},
            });
            resolve(ws);
            return;
          case 'round_assignment': {
            const received = now();
            const t = this.timing(msg.roundId);
            t.firstAssign = Math.min(t.firstAssign, received);
            t.lastAssign = Math.max(t.lastAssign, received);
            const [lo, hi] = cfg.trainMs;
            const delay = lo + (hi - lo) * this.rand();
            setTimeout(() => {
              const trainMs = now() - received;
              const update = {
                type: 'update' as const,
                roundId: msg.roundId,
                modelVersion: msg.modelVersion,
                kind: 'delta' as const,
                numExamples: 1000,
                numTrained: 1100,
                loss: 0.1,
                timings: { trainMs, prepareMs: 0 },
              };
              const frame = () =>
                encodeFrame(update, [{ name: 'update', shape: [this.delta.length], data: this.delta }]);
              t.maxTrainMs = Math.max(t.maxTrainMs, now() - received);
              const built = frame();
              // Granted in advance by the assignment (issue 14): no offer, no wait.
              if (msg.preGrantedUpload && built.byteLength <= msg.preGrantedUpload.maxBytes) {
                sendFrame(built);
                t.updates++;
                return;
              }
              pending = { roundId: msg.roundId, frame };
              send({
                type: 'update_offer',
                roundId: msg.roundId,
                modelVersion: msg.modelVersion,
                bytes: built.byteLength,
                numExamples: update.numExamples,
              });
            }, delay);
            return;
          }
          case 'upload_grant': {
            if (pending?.roundId !== msg.roundId) {
              this.errors.push(`${bank.id}: upload grant for round ${msg.roundId} without an offer`);
              return;
            }
            const frame = pending.frame();
            pending = null;
            sendFrame(frame);
            this.timing(msg.roundId).updates++;
            return;
          }
          case 'evaluation_request': {
            const evaluation: ClientMessage = {
              type: 'evaluation',
              roundId: msg.roundId,
              modelVersion: msg.modelVersion,
              numExamples: 100,
              threshold: msg.threshold,
              confusion: { tp: 5, fp: 1, tn: 94, fn: 0 },
              histogram: msg.histogramBins === hist.bins ? hist : lightHistogram(msg.histogramBins),
              loss: 0.05,
              evalMs: 0,
            };
            if (!binaryHistograms) return send(evaluation);
            const split = splitTensorFields(evaluation, HISTOGRAM_TENSOR_FIELDS);
            return send(split.msg, split.tensors);
          }
          case 'round_committed': {
            const t = this.timing(msg.roundId);
            t.lastCommit = Math.max(t.lastCommit, now());
            t.commits++;
            return;
          }
          case 'ack':
            if (!msg.accepted && msg.of === 'update' && pending?.roundId === msg.roundId) pending = null;
            if (!msg.accepted)
              this.errors.push(`${bank.id}: ${msg.of} for round ${msg.roundId} rejected: ${msg.reason}`);
            return;
          case 'error':
            this.errors.push(`${bank.id}: ${msg.code}: ${msg.message}`);
            return;
          default:
            return;
        }
      });
      ws.on('close', (code: number, reason: Buffer) => {
        heartbeat?.stop();
        if (!welcomed) reject(new Error(`closed before welcome (${code} ${reason.toString()})`));
      });
      ws.on('error', (err: Error) => {
        if (!welcomed) reject(err);
      });
    });
  }

  report(): DriverMessage {
    return {
      type: 'timings',
      rounds: [...this.rounds.values()].sort((a, b) => a.round - b.round),
      errors: this.errors.slice(0, 50),
      memory: process.memoryUsage(),
    };
  }

  close(): void {
    for (const ws of this.sockets) ws.close(1000, 'bench done');
  }
}

/** Child side: serves `start`, `report` and `stop` requests from the parent over IPC. */
function driverMain(): void {
  const driver = new LightBankDriver();
  process.on('message', (m: { type: string } & Partial<DriverStart>) => {
    if (m.type === 'start') void driver.start(m as DriverStart).then((r) => process.send!(r));
    else if (m.type === 'report') process.send!(driver.report());
    else if (m.type === 'post') {
      const p = m as unknown as DriverPost;
      void fetch(p.url, { method: 'POST', headers: p.headers, ...(p.body !== undefined ? { body: p.body } : {}) })
        .then(async (res) => ({ type: 'posted' as const, status: res.status, body: await res.text() }))
        .catch((err: Error) => ({ type: 'posted' as const, status: 0, body: err.message }))
        .then((r) => process.send!(r));
    } else if (m.type === 'stop') {
      driver.close();
      setTimeout(() => process.exit(0), 200);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE && process.argv.includes(DRIVER_FLAG)) driverMain();

/**
 * The light bank's evaluation histogram over `bins` score bins, consistent with the confusion it
 * sends (tp 5, fp 1, tn 94, fn 0 at threshold 0.5): the aggregator refuses an evaluation whose
 * counts its histogram contradicts (common/metrics/consistency.ts).
 */
function lightHistogram(bins: number): ScoreHistogram {
  const h = emptyHistogram(bins);
  h.positives[Math.floor(0.9 * bins)] = 5;
  h.negatives[Math.floor(0.9 * bins)] = 1;
  h.negatives[Math.floor(0.01 * bins)] = 94;
  return h;
}
