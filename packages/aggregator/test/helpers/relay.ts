/**
 * A WebSocket relay between bank clients and the aggregator that records every frame the banks
 * send: what the aggregator's operator could read off the wire (secure-aggregation tests).
 */
import { WebSocket, WebSocketServer } from 'ws';

export interface Relay {
  /** ws:// URL the banks connect to. */
  url: string;
  /** Every frame a bank sent, in arrival order. */
  frames: Uint8Array[];
  close(): Promise<void>;
}

export async function relay(target: string): Promise<Relay> {
  const frames: Uint8Array[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 256 * 1024 * 1024 });
  server.on('connection', (client) => {
    const upstream = new WebSocket(target, { maxPayload: 256 * 1024 * 1024 });
    const pending: Buffer[] = [];
    upstream.on('open', () => {
      for (const p of pending.splice(0)) upstream.send(p, { binary: true });
    });
    client.on('message', (data: Buffer) => {
      frames.push(new Uint8Array(data));
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: true });
      else pending.push(data);
    });
    upstream.on(
      'message',
      (data: Buffer) => client.readyState === WebSocket.OPEN && client.send(data, { binary: true }),
    );
    client.on('close', () => upstream.close());
    upstream.on('close', (code, reason) => client.readyState === WebSocket.OPEN && client.close(code, reason));
  });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    frames,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
