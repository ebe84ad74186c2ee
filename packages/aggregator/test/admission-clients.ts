/**
 * Clients for the admission tests (and the pre-auth memory bench): a WebSocket from a
 * chosen loopback address (Linux routes all of 127.0.0.0/8 to lo, so each test "attacker"
 * can have its own address), and a hand-written WebSocket handshake over a raw TCP socket
 * that can send a frame header without its payload (to prove a refusal happens before the
 * payload is read).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, ServerMessage, type Hello } from '@finsecure/common/protocol';

export interface Peer {
  ws: WebSocket;
  /** Resolves when the socket closes (never rejects). */
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** Server messages received so far (decoded). */
  received: ServerMessage[];
  /** Resolves with the first received message of `type`. */
  next<T extends ServerMessage['type']>(type: T, timeoutMs?: number): Promise<Extract<ServerMessage, { type: T }>>;
}

export function hello(bankId: string, token: string, over: Partial<Hello> = {}): Uint8Array {
  return encodeFrame({
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    bankId,
    token,
    clientVersion: 'admission-test',
    backend: 'cpu',
    numExamples: 100,
    numFeatures: 30,
    numTestExamples: 0,
    ...over,
  } as Hello);
}

/** Opens a WebSocket to `url` from `localAddress` (default 127.0.0.1); resolves once open (or closed). */
export function connect(url: string, localAddress = '127.0.0.1'): Promise<Peer> {
  const ws = new WebSocket(url, { localAddress, maxPayload: 256 * 1024 * 1024 });
  const received: ServerMessage[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (raw: Buffer) => {
    try {
      const msg = decodeFrame(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), ServerMessage).msg;
      if (msg.type === 'heartbeat') ws.send(encodeFrame({ type: 'heartbeat', sentAt: Date.now() }));
      else received.push(msg);
    } catch {
      /* not a frame: ignored */
    }
    waiters.splice(0).forEach((w) => w());
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    ws.on('close', (code: number, reason: Buffer) => {
      resolve({ code, reason: reason.toString(), at: Date.now() });
      waiters.splice(0).forEach((w) => w());
    }),
  );
  const next = async <T extends ServerMessage['type']>(type: T, timeoutMs = 15_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = received.findIndex((m) => m.type === type);
      if (i >= 0) return received.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${type}`);
      if (Date.now() > end) throw new Error(`no ${type} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
  return new Promise((resolve) => {
    const peer = { ws, closed, received, next };
    ws.once('open', () => resolve(peer));
    void closed.then(() => resolve(peer));
  });
}

/** Connects from `localAddress` and joins as `bankId`; resolves after the welcome. */
export async function join(url: string, bankId: string, token: string, localAddress = '127.0.0.1'): Promise<Peer> {
  const p = await connect(url, localAddress);
  p.ws.send(hello(bankId, token));
  await p.next('welcome');
  return p;
}

/**
 * A WebSocket handshake by hand on a raw TCP socket; resolves once the server answered 101.
 * `data` collects every byte the server sends after that; `ended` resolves when TCP closes.
 */
export async function rawUpgrade(
  port: number,
  path: string,
): Promise<{ sock: net.Socket; data: Buffer[]; ended: Promise<void> }> {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', () => {});
  const key = randomBytes(16).toString('base64');
  sock.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const data: Buffer[] = [];
  const ended = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      if (!head.subarray(0, end).toString().startsWith('HTTP/1.1 101')) {
        reject(new Error(`no upgrade: ${head.subarray(0, end).toString()}`));
        return;
      }
      if (head.length > end + 4) data.push(head.subarray(end + 4));
      sock.on('data', (c: Buffer) => data.push(c));
      resolve();
    };
    sock.on('data', onData);
  });
  return { sock, data, ended };
}

/** The header of a masked client frame (RFC 6455 §5.2) announcing `length` payload bytes. */
export function frameHeader(opcode: number, length: number): Buffer {
  const mask = randomBytes(4);
  if (length < 126) return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | length]), mask]);
  if (length < 65536) {
    const b = Buffer.from([0x80 | opcode, 0x80 | 126, 0, 0]);
    b.writeUInt16BE(length, 2);
    return Buffer.concat([b, mask]);
  }
  const b = Buffer.alloc(10);
  b[0] = 0x80 | opcode;
  b[1] = 0x80 | 127;
  b.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([b, mask]);
}

/** The server's close frame in `data`, if any: its code and reason. */
export function closeFrameIn(data: Buffer[]): { code: number; reason: string } | null {
  const all = Buffer.concat(data);
  for (let i = 0; i + 2 <= all.length;) {
    const opcode = all[i]! & 0x0f;
    let len = all[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = all.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(all.readBigUInt64BE(at));
      at += 8;
    }
    if (opcode === 0x8) return { code: all.readUInt16BE(at), reason: all.subarray(at + 2, at + len).toString() };
    i = at + len;
  }
  return null;
}
