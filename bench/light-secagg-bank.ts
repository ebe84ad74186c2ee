/**
 * Light bank clients for the `secagg-rounds` benchmark: many protocol-speaking banks in ONE
 * child process, with no model, no data and no training, that answer both the plaintext
 * workflow (`round_assignment` → `update`) and the secure-aggregation workflow (SecAgg+:
 * advertise keys → share keys → masked fit → consistency check → unmask, then the same steps with
 * masked counts for the evaluation pass) at once, so that a
 * round's time is the protocol's and the aggregator's, not training's.
 *
 * The bank side of SecAgg+ is the pure core, `SecAggBankRound` of `@finsecure/common/secagg`,
 * with the wire conversions of common/secagg/wire.ts, exactly as the real bank client
 * (packages/bank-client/src/secagg/secure-fit.ts) uses them: real X25519 / Ed25519 keys, real
 * Shamir shares, real AES-CTR mask expansion. What a light bank skips is training: its update is
 * one precomputed float32 delta of `parameters` values (|Δ| ≤ 1e-3), weighted and step-normalised
 * by `secureFedAvgInput` and encoded in fixed point per round like a real bank's. Each bank has an
 * Ed25519 identity key made at start, sent in its hello (the aggregator pins it on first sight).
 *
 * Evaluations are answered at once with a fixed confusion matrix and histogram (as light-bank.ts).
 * The driver counts every frame's bytes each way, so the parent gets the bytes per bank.
 *
 * Parent side: `LightSecAggBanks.spawn()`, `start()` (resolves when every bank is welcomed or
 * failed), `report()` (bytes, commits, errors, the child's memory) and `stop()`. Child side: this
 * file run with `--light-secagg-bank-driver`. bench/light-bank.ts (plaintext only) is separate.
 */
import { DriverProcess } from './driver-process.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { emptyHistogram } from '@finsecure/common/metrics';
import { decodeFrame, encodeFrame, FederationServerMessage, PROTOCOL_VERSION } from '@finsecure/common/protocol';
import {
  advertisementFromWire,
  advertisementToWire,
  encodeEvaluationCounts,
  encodeFixedPoint,
  generateIdentityKeyPair,
  identitiesFromWire,
  incomingFromWire,
  paramsFromWire,
  SecAggBankRound,
  secureFedAvgInput,
  sharesToWire,
  signaturesFromWire,
  toBase64,
  unmaskToWire,
  type FixedPointParams,
} from '@finsecure/common/secagg';

const THIS_FILE = fileURLToPath(import.meta.url);
const DRIVER_FLAG = '--light-secagg-bank-driver';
/** What every light bank declares and reports: examples, rows trained (after SMOTE), loss. */
const COUNTS = { numExamples: 1000, numTrained: 1000, loss: 0.1 };

export interface SecAggDriverStart {
  type: 'start';
  /** The aggregator's bank endpoint, e.g. `ws://127.0.0.1:1234/ws/bank`. */
  wsUrl: string;
  banks: { id: string; token: string }[];
  /** Length of the precomputed float32 delta (the model's parameter count). */
  parameters: number;
  /** Announced in the hello; must match the aggregator's model input size. */
  numFeatures: number;
  /** Connections opened at once while connecting. */
  concurrency: number;
}

export type SecAggDriverMessage =
  | { type: 'ready'; connected: number; failed: number; connectMs: number }
  | {
      type: 'report';
      /** Frame bytes over all banks since start: bank → aggregator (up) and back (down). */
      bytesUp: number;
      bytesDown: number;
      /** Frames of each type the banks sent (e.g. secagg_masked_update, update). */
      sent: Record<string, number>;
      commits: number;
      errors: string[];
      memory: NodeJS.MemoryUsage;
    };

type Send = (msg: object, tensors?: Parameters<typeof encodeFrame>[1]) => void;

/** One light bank's secagg state for the round in flight. */
interface SecureState {
  roundId: number;
  session: string;
  core: SecAggBankRound;
  fixedPoint: FixedPointParams;
}

class SecAggBankDriver {
  private readonly sockets: WebSocket[] = [];
  private readonly errors: string[] = [];
  private readonly sent: Record<string, number> = {};
  private delta = new Float32Array(0);
  private bytesUp = 0;
  private bytesDown = 0;
  private commits = 0;

  async start(cfg: SecAggDriverStart): Promise<SecAggDriverMessage> {
    this.delta = Float32Array.from({ length: cfg.parameters }, (_, i) => Math.sin(i) * 1e-3);
    const t0 = performance.now();
    let failed = 0;
    const queue = [...cfg.banks];
    const worker = async () => {
      for (let b = queue.shift(); b; b = queue.shift()) {
        try {
          this.sockets.push(await this.connect(cfg, b));
        } catch (err) {
          failed++;
          this.error(`${b.id}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, cfg.concurrency) }, worker));
    return { type: 'ready', connected: this.sockets.length, failed, connectMs: performance.now() - t0 };
  }

  private error(e: string): void {
    // The first few also go to stderr at once: a stuck round shows why while it waits.
    if (this.errors.length < 3) process.stderr.write(`[light-secagg-bank] ${e}\n`);
    if (this.errors.length < 50) this.errors.push(e);
  }

  private connect(cfg: SecAggDriverStart, bank: { id: string; token: string }): Promise<WebSocket> {
    const identity = generateIdentityKeyPair();
    const hist = emptyHistogram(1000);
    hist.positives[900] = 5;
    hist.negatives[10] = 95;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(cfg.wsUrl, { maxPayload: 256 * 1024 * 1024 });
      ws.binaryType = 'nodebuffer';
      let welcomed = false;
      let secure: SecureState | null = null;
      // An update, plaintext or masked, waiting for its upload_grant (the pull protocol, issue 14).
      let offered: { roundId: number; frame: Uint8Array } | null = null;
      const send: Send = (msg, tensors = []) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const frame = encodeFrame(msg, tensors);
        const type = (msg as { type: string }).type;
        this.sent[type] = (this.sent[type] ?? 0) + 1;
        if (type === 'update' || type === 'secagg_masked_update') {
          const m = msg as { roundId: number; modelVersion: number; numExamples?: number };
          offered = { roundId: m.roundId, frame };
          const offer = encodeFrame({
            type: 'update_offer',
            roundId: m.roundId,
            modelVersion: m.modelVersion,
            bytes: frame.byteLength,
            numExamples: m.numExamples ?? 1,
          });
          this.bytesUp += offer.byteLength;
          ws.send(offer, { binary: true });
          return;
        }
        this.bytesUp += frame.byteLength;
        ws.send(frame, { binary: true });
      };
      ws.on('open', () =>
        send({
          type: 'hello',
          protocolVersion: PROTOCOL_VERSION,
          bankId: bank.id,
          token: bank.token,
          clientVersion: 'bench-light-secagg',
          backend: 'cpu',
          numExamples: COUNTS.numExamples,
          numFraud: 10,
          numTestExamples: 100,
          numFeatures: cfg.numFeatures,
          identityKey: toBase64(identity.publicKey),
        }),
      );
      ws.on('message', (raw: Buffer) => {
        this.bytesDown += raw.byteLength;
        let msg: FederationServerMessage;
        try {
          msg = decodeFrame(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), FederationServerMessage, {
            maxBytes: 256 * 1024 * 1024,
          }).msg;
        } catch (err) {
          this.error(`${bank.id}: undecodable frame: ${(err as Error).message}`);
          return;
        }
        const base = 'session' in msg ? { roundId: msg.roundId, session: msg.session } : null;
        const rid = base ? `${base.roundId}/${base.session}` : '';
        try {
          switch (msg.type) {
            case 'welcome':
              welcomed = true;
              resolve(ws);
              return;
            case 'heartbeat':
              send({ type: 'heartbeat', sentAt: Date.now() });
              return;
            case 'round_assignment':
              send(
                {
                  type: 'update',
                  roundId: msg.roundId,
                  modelVersion: msg.modelVersion,
                  kind: 'delta',
                  ...COUNTS,
                  timings: { trainMs: 0, prepareMs: 0 },
                },
                [{ name: 'update', shape: [this.delta.length], data: this.delta }],
              );
              return;
            case 'secagg_advertise_keys': {
              const core = new SecAggBankRound({ bankId: bank.id, identity, directory: identitiesFromWire(msg) });
              const params = paramsFromWire(msg);
              const advertisement = core.advertiseKeys(params);
              secure = { roundId: msg.roundId, session: msg.session, core, fixedPoint: params.fixedPoint };
              send({ type: 'secagg_keys', ...base, advertisement: advertisementToWire(advertisement) });
              return;
            }
            case 'secagg_share_keys': {
              const cur = this.current(secure, msg, bank.id);
              void cur.core.shareKeys(rid, msg.keys.map(advertisementFromWire)).then(
                (res) => send({ type: 'secagg_shares', ...base, ...sharesToWire(res) }),
                (err: unknown) => this.error(`${bank.id}: share_keys: ${(err as Error).message}`),
              );
              return;
            }
            case 'secagg_masked_fit': {
              const cur = this.current(secure, msg, bank.id);
              const input = secureFedAvgInput(this.delta, COUNTS, msg.config, msg.weighting);
              const { encoded } = encodeFixedPoint(input.values, input.weight, cur.fixedPoint);
              const masked = cur.core.maskedFit(rid, incomingFromWire(msg.shares), encoded);
              send(
                {
                  type: 'secagg_masked_update',
                  ...base,
                  modelVersion: msg.modelVersion,
                  signature: toBase64(masked.signature),
                  loss: COUNTS.loss,
                  timings: { trainMs: 0, prepareMs: 0 },
                },
                [{ name: 'masked', shape: [masked.masked.length], data: masked.masked }],
              );
              return;
            }
            case 'secagg_masked_evaluate': {
              // The evaluation pass (fresh keys, own session): the same fixed counts as a plain
              // evaluation, masked.
              const cur = this.current(secure, msg, bank.id);
              const h = msg.histogramBins === hist.bins ? hist : emptyHistogram(msg.histogramBins);
              const counts =
                msg.histogramBins === hist.bins ? { tp: 5, fp: 0, tn: 95, fn: 0 } : { tp: 0, fp: 0, tn: 0, fn: 0 };
              const masked = cur.core.maskedFit(rid, incomingFromWire(msg.shares), encodeEvaluationCounts(counts, h));
              send(
                {
                  type: 'secagg_masked_evaluation',
                  ...base,
                  modelVersion: msg.modelVersion,
                  signature: toBase64(masked.signature),
                  numExamples: msg.histogramBins === hist.bins ? 100 : 0,
                  loss: 0.05,
                  evalMs: 0,
                },
                [{ name: 'masked', shape: [masked.masked.length], data: masked.masked }],
              );
              return;
            }
            case 'secagg_consistency_check': {
              const cur = this.current(secure, msg, bank.id);
              const signature = cur.core.signSurvivors(rid, msg.survivors);
              send({ type: 'secagg_survivors_signed', ...base, signature: toBase64(signature) });
              return;
            }
            case 'secagg_unmask': {
              const cur = this.current(secure, msg, bank.id);
              const res = cur.core.unmask(rid, msg.survivors, signaturesFromWire(msg.signatures));
              send({ type: 'secagg_unmask_shares', ...base, ...unmaskToWire(res) });
              secure = null;
              return;
            }
            case 'evaluation_request':
              send({
                type: 'evaluation',
                roundId: msg.roundId,
                modelVersion: msg.modelVersion,
                numExamples: 100,
                threshold: msg.threshold,
                // Consistent with the histogram (5 frauds scored 0.9, 95 legit 0.01): the aggregator checks.
                confusion: { tp: 5, fp: 0, tn: 95, fn: 0 },
                histogram: msg.histogramBins === hist.bins ? hist : emptyHistogram(msg.histogramBins),
                loss: 0.05,
                evalMs: 0,
              });
              return;
            case 'upload_grant':
              if (offered?.roundId === msg.roundId && ws.readyState === WebSocket.OPEN) {
                this.bytesUp += offered.frame.byteLength;
                ws.send(offered.frame, { binary: true });
              }
              offered = null;
              return;
            case 'round_committed':
              this.commits++;
              return;
            case 'ack':
              if (!msg.accepted) this.error(`${bank.id}: ${msg.of} for round ${msg.roundId} rejected: ${msg.reason}`);
              return;
            case 'error':
              this.error(`${bank.id}: ${msg.code}: ${msg.message}`);
              return;
            default:
              return;
          }
        } catch (err) {
          this.error(`${bank.id}: ${msg.type}: ${(err as Error).message}`);
        }
      });
      ws.on('close', (code: number, reason: Buffer) => {
        if (!welcomed) reject(new Error(`closed before welcome (${code} ${reason.toString()})`));
      });
      ws.on('error', (err: Error) => {
        if (!welcomed) reject(err);
      });
    });
  }

  /** The bank's secagg state for this request's round; throws (recorded as an error) otherwise. */
  private current(s: SecureState | null, msg: { roundId: number; session: string }, bankId: string): SecureState {
    if (!s || s.roundId !== msg.roundId || s.session !== msg.session)
      throw new Error(`${bankId}: secagg request for round ${msg.roundId}/${msg.session} it did not start`);
    return s;
  }

  report(): SecAggDriverMessage {
    return {
      type: 'report',
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      sent: { ...this.sent },
      commits: this.commits,
      errors: [...this.errors],
      memory: process.memoryUsage(),
    };
  }

  close(): void {
    for (const ws of this.sockets) ws.close(1000, 'bench done');
  }
}

function driverMain(): void {
  const driver = new SecAggBankDriver();
  process.on('message', (m: { type: string } & Partial<SecAggDriverStart>) => {
    if (m.type === 'start') void driver.start(m as SecAggDriverStart).then((r) => process.send!(r));
    else if (m.type === 'report') process.send!(driver.report());
    else if (m.type === 'stop') {
      driver.close();
      setTimeout(() => process.exit(0), 200);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** The parent side: the driver in a child process, over IPC (driver-process.ts). */
export class LightSecAggBanks {
  private constructor(private readonly driver: DriverProcess<SecAggDriverMessage>) {}

  static spawn(): LightSecAggBanks {
    return new LightSecAggBanks(new DriverProcess(THIS_FILE, DRIVER_FLAG, 'light secagg bank driver'));
  }

  start(cfg: Omit<SecAggDriverStart, 'type'>) {
    return this.driver.request({ type: 'start', ...cfg }, 'ready');
  }

  report() {
    return this.driver.request({ type: 'report' }, 'report');
  }

  stop(): Promise<void> {
    return this.driver.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === THIS_FILE && process.argv.includes(DRIVER_FLAG)) driverMain();
