/**
 * A hand-driven bank connection for tests of misbehaviour: it speaks the real protocol
 * over a real socket but lets the test decide what (and whether) to send.
 */
import WebSocket from 'ws';
import { confusionAt, logitHistogram } from '@finsecure/common/metrics';
import {
  decodeFrame,
  encodeFrame,
  FederationServerMessage,
  PROTOCOL_VERSION,
  type ClientMessage,
  type FederationClientMessage,
  type FederationServerMessage as ServerMessage,
  type Hello,
  type TensorInput,
} from '@finsecure/common/protocol';

type UpdateMessage = Extract<ClientMessage, { type: 'update' }>;

/**
 * An `update` answering a round assignment, as an honest bank would send it (a delta
 * from 100 examples, no SMOTE); `over` changes any field, e.g. to make it hostile.
 */
export function updateMessage(
  assignment: { roundId: number; modelVersion: number },
  over: Partial<UpdateMessage> = {},
): UpdateMessage {
  const numExamples = over.numExamples ?? 100;
  return {
    type: 'update',
    roundId: assignment.roundId,
    modelVersion: assignment.modelVersion,
    kind: 'delta',
    numExamples,
    numTrained: numExamples,
    loss: 0.5,
    timings: { trainMs: 1, prepareMs: 0 },
    ...over,
  };
}

/**
 * An honest-looking evaluation of 200 rows (20 frauds) whose scores rank the frauds `good`ly or not
 * (a bank that sends it declares 200 test examples in its hello).
 */
export function evaluationMessage(
  req: { roundId: number; modelVersion: number; threshold: number; histogramBins: number },
  good = true,
) {
  const labels = new Uint8Array(200);
  for (let i = 0; i < 20; i++) labels[i] = 1;
  const logits = Float32Array.from({ length: 200 }, (_, i) =>
    good ? (labels[i] ? 3 : -3) : Math.sin(i * 12.9898) * 3,
  );
  const probabilities = logits.map((z) => 1 / (1 + Math.exp(-z)));
  return {
    type: 'evaluation' as const,
    roundId: req.roundId,
    modelVersion: req.modelVersion,
    numExamples: 200,
    threshold: req.threshold,
    confusion: confusionAt(probabilities, labels, req.threshold),
    histogram: logitHistogram(logits, labels, req.histogramBins),
    loss: 0.3,
    evalMs: 1,
  };
}

export interface Received {
  msg: ServerMessage;
  tensors: Map<string, { data: Float32Array; shape: number[] }>;
}

/**
 * How `RawBank.send` delivers an update: 'granted' (default) as an honest bank does (pull
 * protocol: `update_offer`, then the frame when `upload_grant` comes); 'offer-only' offers and
 * never uploads; 'ungranted' sends the frame at once, without an offer.
 */
export type UploadMode = 'granted' | 'offer-only' | 'ungranted';

export class RawBank {
  readonly received: Received[] = [];
  /** Update frames offered and waiting for their grant, by round. */
  private readonly offered = new Map<number, Uint8Array>();
  closed: { code: number; reason: string } | null = null;
  private waiters: (() => void)[] = [];
  /** Whether it answers the aggregator's heartbeats (default); a test of liveness turns it off. */
  answersHeartbeats = true;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      try {
        const d = decodeFrame(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), FederationServerMessage);
        // Alive whatever else the test makes it do: it answers heartbeats (older bank clients did;
        // the daemon now sends its own, bank-client heartbeat.ts, and RawBank has no timer).
        if (d.msg.type === 'heartbeat') {
          if (this.answersHeartbeats && ws.readyState === WebSocket.OPEN)
            ws.send(encodeFrame({ type: 'heartbeat', sentAt: Date.now() }));
          return;
        }
        // The pull protocol, as an honest bank: the offered frame goes when granted, and not
        // at all once its offer (or update) is refused.
        if (d.msg.type === 'upload_grant') {
          const frame = this.offered.get(d.msg.roundId);
          this.offered.delete(d.msg.roundId);
          if (frame && ws.readyState === WebSocket.OPEN) ws.send(frame);
        }
        if (d.msg.type === 'ack' && d.msg.of === 'update' && !d.msg.accepted) this.offered.delete(d.msg.roundId);
        this.received.push({ msg: d.msg, tensors: d.tensors });
      } catch (err) {
        this.received.push({
          msg: { type: 'error', code: 'client_decode', message: (err as Error).message },
          tensors: new Map(),
        });
      }
      this.waiters.splice(0).forEach((w) => w());
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.waiters.splice(0).forEach((w) => w());
    });
    ws.on('error', () => {});
  }

  static async connect(url: string): Promise<RawBank> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawBank(ws);
  }

  static async join(
    url: string,
    bankId: string,
    token: string,
    numExamples = 100,
    numFeatures = 30,
    identityKey?: string,
    numTestExamples = 0,
  ): Promise<RawBank> {
    const bank = await RawBank.connect(url);
    bank.sayHello(bankId, token, {
      numExamples,
      numFeatures,
      numTestExamples,
      ...(identityKey ? { identityKey } : {}),
    });
    await bank.next('welcome');
    return bank;
  }

  /** Sends the hello of `bankId` with `token` (100 rows of 30 features unless `over` says otherwise); does not wait. */
  sayHello(bankId: string, token: string, over: Partial<Hello> = {}): void {
    this.send({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      bankId,
      token,
      clientVersion: 'raw-test',
      backend: 'cpu',
      numExamples: 100,
      numFeatures: 30,
      numTestExamples: 0,
      ...over,
    });
  }

  send(msg: FederationClientMessage, tensors: TensorInput[] = [], upload: UploadMode = 'granted'): void {
    const frame = encodeFrame(msg, tensors);
    const pulled = msg.type === 'update' || msg.type === 'secagg_masked_update';
    if (!pulled || upload === 'ungranted') return this.ws.send(frame);
    if (upload === 'granted') this.offered.set(msg.roundId, frame);
    this.ws.send(
      encodeFrame({
        type: 'update_offer',
        roundId: msg.roundId,
        modelVersion: msg.modelVersion,
        bytes: frame.byteLength,
        // A masked update carries its weight inside; its offer declares the floor of 1.
        numExamples: msg.type === 'update' ? msg.numExamples : 1,
      }),
    );
  }

  sendBytes(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Waits for the next message of a type (already received ones count once). */
  async next<T extends ServerMessage['type']>(
    type: T,
    timeoutMs = 15_000,
  ): Promise<Received & { msg: Extract<ServerMessage, { type: T }> }> {
    const end = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.received.length; seen++) {
        const r = this.received[seen]!;
        if (r.msg.type === type) {
          this.received.splice(seen, 1);
          return r as Received & { msg: Extract<ServerMessage, { type: T }> };
        }
      }
      if (this.closed)
        throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${type}`);
      const left = end - Date.now();
      if (left <= 0)
        throw new Error(`no ${type} within ${timeoutMs} ms (got: ${this.received.map((r) => r.msg.type).join(', ')})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    const end = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > end) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }
}
