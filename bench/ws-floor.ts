/**
 * The floor under `scale`'s CPU per round: a bare `ws` server exchanging a round's frames and
 * nothing else. Per bank and round, as the aggregator does at the default settings (uploads
 * granted in advance): the assignment (16 KB, the MLP's weights) down, the update (16 KB) up after a
 * simulated training time, the evaluation request (16 KB) down, the evaluation (8 KB) up, the commit
 * (16 KB) down. The clients run in a child process, as `scale`'s light banks do; this process's CPU
 * (user + system) is measured per round. No decoding, no validation, no store, no audit, no metrics:
 * what is left of a round's CPU above this is the aggregator's own work.
 *
 * Usage: `npx tsx bench/ws-floor.ts [banks=10] [rounds=150] [trainMinMs=5] [trainMaxMs=50]`; prints the
 * min / median / max CPU per round over the rounds after the first 10 (warm-up).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';

const [banks = 10, rounds = 150, trainMin = 5, trainMax = 50] = process.argv
  .slice(2)
  .filter((a) => a !== '--client')
  .map(Number);
const ASSIGN = 1;
const EVALUATE = 2;
const COMMIT = 3;

if (process.argv.includes('--client')) {
  const port = Number(process.env.WS_FLOOR_PORT);
  const update = Buffer.alloc(16 * 1024 + 200, 1);
  const evaluation = Buffer.alloc(8 * 1024, 2);
  for (let i = 0; i < banks; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    ws.on('message', (data: Buffer) => {
      if (data[0] === ASSIGN) setTimeout(() => ws.send(update), trainMin + Math.random() * (trainMax - trainMin));
      else if (data[0] === EVALUATE) ws.send(evaluation);
    });
  }
} else {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const sockets: WebSocket[] = [];
  const connected = new Promise<void>((resolve) =>
    wss.on('connection', (s) => {
      sockets.push(s);
      if (sockets.length === banks) resolve();
    }),
  );
  const { port } = wss.address() as { port: number };
  const child = fork(fileURLToPath(import.meta.url), [...process.argv.slice(2), '--client'], {
    env: { ...process.env, WS_FLOOR_PORT: String(port) },
  });
  await connected;
  const model = (kind: number) => {
    const b = Buffer.alloc(16 * 1024 + 300);
    b[0] = kind;
    return b;
  };
  const broadcast = (kind: number) => {
    const frame = model(kind);
    for (const s of sockets) s.send(frame);
  };
  const cpuMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    await new Promise<void>((done) => {
      let updates = 0;
      let evaluations = 0;
      for (const s of sockets) {
        s.removeAllListeners('message');
        s.on('message', (data: Buffer) => {
          if (data.length > 10_000) {
            if (++updates === banks) broadcast(EVALUATE);
          } else if (++evaluations === banks) {
            broadcast(COMMIT);
            done();
          }
        });
      }
      broadcast(ASSIGN);
    });
    const used = process.cpuUsage(start);
    if (r >= 10) cpuMs.push((used.user + used.system) / 1000);
  }
  cpuMs.sort((a, b) => a - b);
  const at = (q: number) => cpuMs[Math.min(cpuMs.length - 1, Math.floor(q * cpuMs.length))]!.toFixed(2);
  console.log(
    `bare ws round, ${banks} banks, training ${trainMin}–${trainMax} ms, ${cpuMs.length} rounds: ` +
      `CPU per round min ${at(0)} / median ${at(0.5)} / max ${at(1)} ms`,
  );
  child.kill();
  wss.close();
  process.exit(0);
}
