/**
 * How the bank sends a trained update (round-tasks.ts offerUpload), over a real WebSocket on
 * 127.0.0.1 to a server that records what arrives: without a pre-grant it offers the frame and
 * holds it until `upload_grant`; with a pre-grant at least the frame's size it sends the frame at
 * once; a pre-grant smaller than the frame falls back to the offer; a frame over the aggregator's
 * limit is declined, never offered.
 */
import { EventEmitter } from 'node:events';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeClientMessage, encodeFrame, type RoundAssignment } from '@finsecure/common/protocol';
import { cleanup, tempDir } from '../../aggregator/test/helpers/federation.js';
import { LocalPrivacyLedger } from '../src/privacy.js';
import { offerUpload, sendGranted, type RoundTaskHost } from '../src/round-tasks.js';
import { UpdateUpload, updateFrame } from '../src/update-upload.js';
import type { BankClientEvents } from '../src/client.js';
import { fitOutput } from './helpers/fit-output.js';

const out = fitOutput;

let dir: string;
let server: WebSocketServer;
let ws: WebSocket;
/** What the server received, in order: the decoded message types. */
const arrived: string[] = [];
const waiters: (() => void)[] = [];

beforeAll(async () => {
  dir = tempDir('finsecure-round-tasks-');
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  server.on('connection', (socket) =>
    socket.on('message', (raw: Buffer) => {
      arrived.push(decodeClientMessage(new Uint8Array(raw)).msg.type);
      for (const w of waiters.splice(0)) w();
    }),
  );
  const { port } = server.address() as { port: number };
  ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await once(ws, 'open');
});

afterAll(async () => {
  ws?.close();
  server?.close();
  cleanup(dir);
});

/** Resolves once `n` messages have arrived in all. */
async function arrivedCount(n: number): Promise<void> {
  while (arrived.length < n) await new Promise<void>((r) => waiters.push(r));
}

function host(): RoundTaskHost & { sent: number[] } {
  const ledger = new LocalPrivacyLedger(dir);
  const events = new EventEmitter<BankClientEvents>();
  const sent: number[] = [];
  events.on('update_sent', (u) => sent.push(u.roundId));
  return {
    model: null as never, // offerUpload and sendGranted never train or evaluate
    ledger,
    upload: new UpdateUpload(ledger, pino({ level: 'silent' })),
    logger: pino({ level: 'silent' }),
    events,
    send: (socket, msg, tensors) => socket.send(encodeFrame(msg, tensors ?? [])),
    sendFrame: (socket, frame) => socket.send(frame),
    maxFrameBytes: () => 1 << 20,
    serverReads: () => false,
    connection: () => 1,
    stillWanted: () => null,
    sent,
  };
}

const frameOf = (roundId: number) =>
  updateFrame(
    { roundId, modelVersion: 0, config: { updateEncoding: 'float32' } } as RoundAssignment,
    out,
    1 << 20,
  ) as Uint8Array;

describe('the bank sends its update: offered, or at once when granted in advance', () => {
  it('offers without a pre-grant, and sends the frame only when granted', async () => {
    const h = host();
    offerUpload(h, ws, 1, 1, 0, frameOf(1), out, null);
    await arrivedCount(1);
    expect(arrived.slice(-1)).toEqual(['update_offer']);
    expect(h.sent).toEqual([]);
    sendGranted(h, ws, 1, 1);
    await arrivedCount(2);
    expect(arrived.slice(-1)).toEqual(['update']);
    expect(h.sent).toEqual([1]);
  });

  it('sends at once when the pre-grant covers the frame, and offers when it does not', async () => {
    const h = host();
    const frame = frameOf(2);
    offerUpload(h, ws, 1, 2, 0, frame, out, null, frame.byteLength);
    await arrivedCount(3);
    expect(arrived.slice(-1)).toEqual(['update']);
    expect(h.sent).toEqual([2]);
    offerUpload(h, ws, 1, 3, 0, frameOf(3), out, null, frame.byteLength - 1);
    await arrivedCount(4);
    expect(arrived.slice(-1)).toEqual(['update_offer']);
    expect(h.sent).toEqual([2]);
  });

  it('declines a frame over the aggregator limit instead of offering it', async () => {
    const h = host();
    offerUpload(h, ws, 1, 4, 0, 'update frame of 9 bytes exceeds the limit', out, null, 1 << 20);
    await arrivedCount(5);
    expect(arrived.slice(-1)).toEqual(['decline']);
    expect(h.sent).toEqual([]);
  });
});
