/**
 * The research bank client's hostile half: a loopback WebSocket relay between one real bank
 * client and the aggregator that rewrites the bank's `update` frames (HostileUpdate) and passes
 * everything else through unchanged, both ways. The bank trains honestly with the production
 * code; what it sends is changed here, in the research package, so the production bank
 * (`finsecure-bank`) has no attack code and no attack option at all.
 *
 * Frames from the bank are handled in order (one promise chain per connection), so an update
 * that waits for its colluders (alie) holds back only that bank's later frames. A close on one
 * side closes the other with the same code (1005/1006, which cannot be sent, become 1000).
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  ClientMessage,
  decodeFrame,
  encodeFrame,
  HISTOGRAM_TENSOR_FIELDS,
  type Update,
} from '@finsecure/common/protocol';

/** Rewrites one update's delta (must return the same length). */
export type HostileUpdate = (msg: Update, delta: Float32Array) => Promise<Float32Array> | Float32Array;

const MAX_FRAME = 512 * 1024 * 1024;

function bytesOf(raw: RawData): Uint8Array {
  if (Array.isArray(raw)) return new Uint8Array(Buffer.concat(raw));
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw);
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code < 1000 || code >= 5000 ? 1000 : code;
}

export class AttackProxy {
  private constructor(
    private readonly server: WebSocketServer,
    /** ws://127.0.0.1:<port>/ws/bank: give this to the bank client as its server. */
    readonly url: string,
  ) {}

  /**
   * Starts a relay on 127.0.0.1 (random port) to `upstream` (the aggregator's /ws/bank URL).
   * `onError` hears a frame the relay could not rewrite (it is then dropped, and the bank's
   * round fails as a missing update would).
   */
  static async start(upstream: string, hostile: HostileUpdate, onError: (err: Error) => void): Promise<AttackProxy> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_FRAME });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const port = (server.address() as { port: number }).port;
    server.on('connection', (bank: WebSocket) => relay(bank, upstream, hostile, onError));
    return new AttackProxy(server, `ws://127.0.0.1:${port}/ws/bank`);
  }

  async close(): Promise<void> {
    for (const c of this.server.clients) c.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function relay(bank: WebSocket, upstream: string, hostile: HostileUpdate, onError: (err: Error) => void): void {
  const agg = new WebSocket(upstream, { maxPayload: MAX_FRAME });
  let chain: Promise<void> = Promise.resolve();
  const opened = new Promise<void>((resolve) => agg.once('open', () => resolve()));
  const toAggregator = async (raw: RawData): Promise<void> => {
    let bytes = bytesOf(raw);
    try {
      // As the aggregator reads them: an evaluation's histograms may come as tensors (its welcome says so).
      const { msg, tensors } = decodeFrame(bytes, ClientMessage, {
        maxBytes: MAX_FRAME,
        tensorFields: HISTOGRAM_TENSOR_FIELDS,
      });
      if (msg.type === 'update') {
        const delta = tensors.get('update')!.data;
        const changed = await hostile(msg, delta);
        if (changed.length !== delta.length)
          throw new Error(`the hostile update has ${changed.length} values, the model ${delta.length}`);
        bytes = encodeFrame(msg, [{ name: 'update', shape: [changed.length], data: changed }]);
      }
    } catch (err) {
      onError(err as Error);
      return;
    }
    await opened;
    if (agg.readyState === WebSocket.OPEN) agg.send(bytes, { binary: true });
  };
  bank.on('message', (raw) => {
    chain = chain.then(() => toAggregator(raw));
  });
  agg.on('message', (raw, isBinary) => {
    if (bank.readyState === WebSocket.OPEN) bank.send(bytesOf(raw), { binary: isBinary });
  });
  bank.on('close', (code, reason) => {
    if (agg.readyState === WebSocket.OPEN || agg.readyState === WebSocket.CONNECTING)
      agg.close(sendableCode(code), reason.toString());
  });
  agg.on('close', (code, reason) => {
    if (bank.readyState === WebSocket.OPEN) bank.close(sendableCode(code), reason.toString());
  });
  bank.on('error', () => agg.terminate());
  agg.on('error', () => bank.terminate());
}

/**
 * Colluding banks of "a little is enough": each hostile bank hands in its honest update for the
 * round and gets back μ − zσ over all of them, once every colluder has handed one in or after
 * `waitMs` (whoever came by then).
 */
export class Colluders {
  private readonly rounds = new Map<
    number,
    { deltas: Float32Array[]; waiting: (() => void)[]; result?: Float32Array }
  >();

  constructor(
    private readonly expected: number,
    private readonly combine: (deltas: Float32Array[]) => Float32Array,
    private readonly waitMs = 60_000,
  ) {}

  async contribute(roundId: number, delta: Float32Array): Promise<Float32Array> {
    let r = this.rounds.get(roundId);
    if (!r) {
      r = { deltas: [], waiting: [] };
      this.rounds.set(roundId, r);
    }
    const round = r;
    round.deltas.push(Float32Array.from(delta));
    const settle = () => {
      round.result ??= this.combine(round.deltas);
      round.waiting.splice(0).forEach((w) => w());
    };
    if (round.deltas.length >= this.expected) settle();
    if (!round.result) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(settle, this.waitMs);
        round.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return Float32Array.from(round.result!);
  }
}
