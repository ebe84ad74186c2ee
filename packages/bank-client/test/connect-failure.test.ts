/**
 * What the bank daemon says when it cannot join the aggregator (src/connect-failure.ts, client.ts):
 * a plain hint per cause, once per run of attempts with that cause (repeats at debug, reminders
 * every 20 attempts), a new hint when the cause changes, one line when it finally joins, and never
 * the token. Real sockets on 127.0.0.1: a node:http server answering 404, a closed port, TLS
 * servers, and the real aggregator (a wrong path, /ws/events, a restart). The hints themselves, without
 * sockets: connect-failure-hints.test.ts.
 */
import { EventEmitter } from 'node:events';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import {
  cleanup,
  createBank,
  startTestAggregator,
  tempDir,
  TEST_STATE_KEY,
  writeShards,
} from '../../aggregator/test/helpers/federation.js';
import { BankClient, loadBankConfig, loadLocalData, openBankState } from '../src/index.js';
import { DEBUG, ERROR, INFO, WARN, type Line } from './helpers/log-lines.js';

let dir: string;
let shard: string;
beforeAll(async () => {
  dir = tempDir('finsecure-connect-failure-');
  [shard] = await writeShards(dir, 1, 300);
});
afterAll(() => cleanup(dir));

/** A logger whose JSON lines are kept, and waited on as they arrive. */
function captured() {
  const lines: Line[] = [];
  const arrivals = new EventEmitter();
  const logger = pino(
    { level: 'debug' },
    {
      write(s: string) {
        const line = JSON.parse(s) as Line;
        lines.push(line);
        arrivals.emit('line', line);
      },
    },
  );
  /** Resolves with the first line (already logged or to come) that matches. */
  const next = (what: string, match: (l: Line) => boolean, timeoutMs = 60_000) =>
    new Promise<Line>((resolve, reject) => {
      const seen = lines.find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => {
        arrivals.off('line', on);
        const tail = lines.slice(-8).map((l) => `${l.level} ${l.msg}`);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${tail.join('\n')}`));
      }, timeoutMs);
      const on = (l: Line) => {
        if (!match(l)) return;
        clearTimeout(timer);
        arrivals.off('line', on);
        resolve(l);
      };
      arrivals.on('line', on);
    });
  return { logger, lines, next };
}

let banks = 0;
/** A started BankClient at `server` with a fast backoff (10–20 ms), logging to a capture. */
async function bankAt(
  server: string,
  opts: { token?: string; bankId?: string; caFile?: string; welcomeTimeoutMs?: number } = {},
) {
  const stateDir = path.join(dir, `bank-${++banks}`);
  const token = opts.token ?? `tok-${randomBytes(16).toString('hex')}`;
  const config = loadBankConfig({
    flags: {
      server,
      bankId: opts.bankId ?? 'probe',
      token,
      data: shard,
      testFraction: 0.3,
      stateDir,
      backend: 'wasm',
      reconnectMinMs: 10,
      reconnectMaxMs: 20,
      logLevel: 'debug',
      ...(opts.caFile ? { caFile: opts.caFile } : {}),
      ...(opts.welcomeTimeoutMs ? { welcomeTimeoutMs: opts.welcomeTimeoutMs } : {}),
    },
  });
  openBankState(stateDir, { key: TEST_STATE_KEY, source: 'test state key' });
  const log = captured();
  const client = new BankClient(config, await loadLocalData(config), log.logger);
  await client.start();
  /** Every line of the log, checked for the token (the hello carries it; no line may). */
  const tokenLogged = () => log.lines.some((l) => JSON.stringify(l).includes(token));
  return { client, token, tokenLogged, ...log };
}

const firstSaid = (cause: string) => (l: Line) => l.cause === cause && l.msg.startsWith('cannot join the aggregator');
const attemptAtLeast = (n: number) => (l: Line) => typeof l.attempt === 'number' && l.attempt >= n && !!l.cause;

function listen(server: http.Server | https.Server | net.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}
function close(server: http.Server | https.Server | net.Server): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
/** An HTTP server that answers 404 to everything, WebSocket upgrades included (no 'upgrade' listener). */
function notFoundServer(): http.Server {
  return http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found'));
}

describe('a bank that cannot join says why, once per cause', () => {
  it('names the 404 and the /ws/bank path once over many attempts, reminds every 20, and never logs the token', async () => {
    const server = notFoundServer();
    let requests = 0;
    server.on('request', () => requests++);
    const port = await listen(server);
    const bank = await bankAt(`ws://127.0.0.1:${port}/wrong`);
    try {
      const said = await bank.next('the 404 hint', firstSaid('http-404'));
      expect(said.level).toBe(ERROR);
      expect(said.status).toBe(404);
      expect(said.msg).toContain(`no FinSecure bank endpoint at ws://127.0.0.1:${port}/wrong (HTTP 404)`);
      expect(said.msg).toContain(`ws://127.0.0.1:${port}/ws/bank`);
      expect(said.msg).toContain('check --server');
      expect(said.msg).toMatch(/retrying in \d+ ms$/);
      // Repeats are debug lines with the attempt count and the next delay.
      const fifth = await bank.next('the fifth failed attempt', attemptAtLeast(5));
      expect(fifth.level).toBe(DEBUG);
      expect(fifth.msg).toMatch(/^connection attempt 5 failed again \(http-404\); retrying in \d+ ms$/);
      expect(fifth.retryInMs).toBeGreaterThanOrEqual(5);
      // The long outage stays visible: the hint again at the 21st attempt.
      const reminder = await bank.next('the reminder', (l) => l.msg.startsWith('still cannot join'));
      expect(reminder.level).toBe(ERROR);
      expect(reminder.attempt).toBe(21);
      expect(reminder.msg).toContain('after 21 attempts');
      expect(reminder.msg).toContain('/ws/bank');
      await bank.client.stop();
      expect(requests).toBeGreaterThanOrEqual(21);
      expect(bank.lines.filter(firstSaid('http-404'))).toHaveLength(1);
      // Neither the old per-attempt warnings nor info lines at every retry.
      expect(bank.lines.filter((l) => l.msg === 'connection error' || l.msg.startsWith('disconnected'))).toEqual([]);
      expect(bank.lines.filter((l) => l.msg === 'connecting' && l.level >= INFO)).toHaveLength(1);
      expect(bank.tokenLogged()).toBe(false);
    } finally {
      await bank.client.stop();
      await close(server);
    }
  }, 120_000);

  it('says "nothing listens" once for a closed port (ECONNREFUSED), at warn', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await close(probe);
    const bank = await bankAt(`ws://127.0.0.1:${port}/ws/bank`);
    try {
      const said = await bank.next('the refused hint', firstSaid('refused'));
      expect(said.level).toBe(WARN);
      expect(said.code).toBe('ECONNREFUSED');
      expect(said.msg).toContain(
        `nothing listens at 127.0.0.1:${port} (connection refused): is the aggregator running`,
      );
      await bank.next('the sixth attempt', attemptAtLeast(6));
      await bank.client.stop();
      expect(bank.lines.filter(firstSaid('refused'))).toHaveLength(1);
      expect(bank.lines.filter((l) => l.cause === 'refused' && l.level >= WARN).length).toBeLessThanOrEqual(2);
      expect(bank.tokenLogged()).toBe(false);
    } finally {
      await bank.client.stop();
    }
  }, 120_000);

  it('gives up on a socket that never welcomes after welcomeTimeoutMs, and says so once', async () => {
    // Another service's WebSocket: it takes the socket and the hello, and never answers.
    const silent = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => silent.once('listening', resolve));
    const hellos: number[] = [];
    silent.on('connection', (socket) => socket.on('message', () => hellos.push(Date.now())));
    const port = (silent.address() as net.AddressInfo).port;
    const bank = await bankAt(`ws://127.0.0.1:${port}/ws/bank`, { welcomeTimeoutMs: 200 });
    try {
      const said = await bank.next('the no-welcome hint', firstSaid('no-welcome'));
      expect(said.level).toBe(WARN);
      expect(said.msg).toContain(
        `ws://127.0.0.1:${port}/ws/bank took the WebSocket but sent no welcome within 200 ms of this bank's hello`,
      );
      // It keeps trying (each attempt's hello arrives), and says the hint once.
      await bank.next('the third attempt', attemptAtLeast(3));
      await bank.client.stop();
      expect(hellos.length).toBeGreaterThanOrEqual(3);
      expect(bank.lines.filter(firstSaid('no-welcome'))).toHaveLength(1);
      expect(bank.tokenLogged()).toBe(false);
    } finally {
      await bank.client.stop();
      for (const c of silent.clients) c.terminate();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 120_000);

  it('stops at once on a socket that was never welcomed, even when its peer ignores the close frame', async () => {
    // The peer stops reading once it has the hello (so the bank's socket is open): a close frame
    // would wait out ws's 30 s close timeout.
    const deaf = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => deaf.once('listening', resolve));
    const accepted = new Promise<void>((resolve) =>
      deaf.on('connection', (socket, req) =>
        socket.once('message', () => {
          req.socket.pause();
          resolve();
        }),
      ),
    );
    const port = (deaf.address() as net.AddressInfo).port;
    const bank = await bankAt(`ws://127.0.0.1:${port}/ws/bank`, { welcomeTimeoutMs: 600_000 });
    try {
      await accepted;
      const disconnected = new Promise<'disconnected'>((resolve) =>
        bank.client.once('disconnected', () => resolve('disconnected')),
      );
      await bank.client.stop();
      // Far below the 30 s a clean close would wait for; the margin is for a loaded machine.
      const first = await Promise.race([
        disconnected,
        new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 10_000).unref()),
      ]);
      expect(first).toBe('disconnected');
    } finally {
      await bank.client.stop();
      for (const c of deaf.clients) c.terminate();
      await new Promise((resolve) => deaf.close(resolve));
    }
  }, 60_000);

  it('tells ws:// from wss:// and asks for --ca-file on TLS failures', async () => {
    const tlsDir = path.join(dir, 'tls');
    mkdirSync(tlsDir, { recursive: true });
    const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
    execFileSync('sh', [path.join(repo, 'deploy/make-tls-certs.sh'), tlsDir], { stdio: 'ignore' });
    const secure = https.createServer(
      { cert: readFileSync(path.join(tlsDir, 'server.crt')), key: readFileSync(path.join(tlsDir, 'server.key')) },
      (_req, res) => res.writeHead(404).end(),
    );
    const tlsPort = await listen(secure);
    const plain = notFoundServer();
    const plainPort = await listen(plain);
    const cases: { server: string; caFile?: string; cause: string; level: number; says: string[] }[] = [
      {
        server: `wss://127.0.0.1:${tlsPort}/ws/bank`,
        cause: 'tls-untrusted',
        level: ERROR,
        says: ['is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)', '--ca-file'],
      },
      {
        server: `ws://127.0.0.1:${tlsPort}/ws/bank`,
        cause: 'reset',
        level: WARN,
        says: ['use wss:// instead of ws://'],
      },
      {
        server: `wss://127.0.0.1:${plainPort}/ws/bank`,
        cause: 'tls-protocol',
        level: ERROR,
        says: [`127.0.0.1:${plainPort} does not speak TLS: use ws:// instead of wss://`],
      },
      {
        // Trusted with the CA file: past TLS, to the server's 404.
        server: `wss://localhost:${tlsPort}/wrong`,
        caFile: path.join(tlsDir, 'ca.crt'),
        cause: 'http-404',
        level: ERROR,
        says: [`wss://localhost:${tlsPort}/ws/bank`],
      },
    ];
    try {
      for (const c of cases) {
        const bank = await bankAt(c.server, c.caFile ? { caFile: c.caFile } : {});
        try {
          const said = await bank.next(`the ${c.cause} hint for ${c.server}`, firstSaid(c.cause));
          expect(said.level, c.server).toBe(c.level);
          for (const s of c.says) expect(said.msg, c.server).toContain(s);
          await bank.next('the third attempt', attemptAtLeast(3));
          await bank.client.stop();
          expect(bank.lines.filter(firstSaid(c.cause)), c.server).toHaveLength(1);
          expect(bank.tokenLogged()).toBe(false);
        } finally {
          await bank.client.stop();
        }
      }
    } finally {
      await close(secure);
      await close(plain);
    }
  }, 180_000);

  it('on the real aggregator: a wrong path is named, /ws/events is not taken for a bad token, and a rejoin is one line', async () => {
    const dataDir = path.join(dir, 'agg');
    let agg = await startTestAggregator(dataDir);
    const port = Number(new URL(agg.url).port);
    const token = await createBank(agg, 'probe');
    try {
      // A wrong path: the aggregator answers the upgrade with 404 (server/admission/ws-paths.ts);
      // no hello, so no token, went out, and none is in the log.
      const wrong = await bankAt(`${agg.wsUrl}/wrong/path`, { token });
      try {
        const said = await wrong.next('the wrong-path hint', firstSaid('http-404'));
        expect(said.level).toBe(ERROR);
        expect(said.msg).toContain(`no FinSecure bank endpoint at ws://127.0.0.1:${port}/wrong/path (HTTP 404)`);
        expect(said.msg).toContain(`the aggregator serves banks at ws://127.0.0.1:${port}/ws/bank`);
        await wrong.next('the fourth attempt', attemptAtLeast(4));
        await wrong.client.stop();
        expect(wrong.lines.filter(firstSaid('http-404'))).toHaveLength(1);
        expect(wrong.tokenLogged()).toBe(false);
      } finally {
        await wrong.client.stop();
      }

      // /ws/events closes a bank's hello with 4001, like a bad token: fatal as before, but the
      // message points at the path.
      const events = await bankAt(`${agg.wsUrl}/ws/events`, { token });
      try {
        const fatal = await new Promise<Error>((resolve) => events.client.once('fatal', resolve));
        expect(fatal.message).toContain('is not the bank endpoint');
        const said = await events.next('the refusal', (l) => l.msg.startsWith('refused by the aggregator'));
        expect(said.msg).toContain(`banks connect at ws://127.0.0.1:${port}/ws/bank (check --server)`);
        expect(events.tokenLogged()).toBe(false);
      } finally {
        await events.client.stop();
      }

      // The aggregator down (refused), a server answering 404 on its port, then the aggregator
      // again: a hint per cause as it changes, and one line when the bank joins.
      await agg.close();
      const bank = await bankAt(`${agg.wsUrl}/ws/bank`, { token });
      const impostor = notFoundServer();
      try {
        await bank.next('the refused hint', firstSaid('refused'));
        await listen(impostor, port);
        const changed = await bank.next('the 404 hint', firstSaid('http-404'));
        expect(changed.msg).toContain('(the cause changed from refused)');
        await close(impostor);
        agg = await startTestAggregator(dataDir, { port });
        const joined = await bank.next('the join', (l) => l.msg.startsWith('joined the federation'));
        expect(joined.level).toBe(INFO);
        expect(joined.msg).toMatch(/^joined the federation after \d+ failed connection attempts over /);
        expect(joined.failedAttempts).toBeGreaterThanOrEqual(2);
        expect(bank.lines.filter(firstSaid('http-404'))).toHaveLength(1);
        expect(bank.tokenLogged()).toBe(false);
      } finally {
        await bank.client.stop();
        if (impostor.listening) await close(impostor);
      }
    } finally {
      await agg.close();
    }
  }, 180_000);

  it('refuses an unparsable URL without repeating it (it may hold a password), in the config and the client', async () => {
    const secretUrl = 'ws://bank:s3cretPW@127.0.0.1:99999/ws/bank';
    const base = { bankId: 'probe', token: `tok-${randomBytes(16).toString('hex')}`, data: shard };
    let message = '';
    try {
      loadBankConfig({ flags: { ...base, server: secretUrl } });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('--server: is not a valid URL (check the host name and the port, 1–65535)');
    expect(message).not.toContain('s3cretPW');
    // A client given such a URL some other way (an embedding program) fails the same way.
    const config = loadBankConfig({ flags: { ...base, server: 'ws://bank:s3cretPW@127.0.0.1:9/ws/bank' } });
    const stateDir = path.join(dir, `bank-${++banks}`);
    openBankState(stateDir, { key: TEST_STATE_KEY, source: 'test state key' });
    const log = captured();
    const client = new BankClient({ ...config, server: secretUrl, stateDir }, await loadLocalData(config), log.logger);
    const failure = await client.start().then(
      () => null,
      (err: Error) => err,
    );
    await client.stop();
    expect(failure?.message).toBe('cannot connect to (unparsable URL): not a valid ws:// or wss:// URL (SyntaxError)');
    expect(JSON.stringify(log.lines)).not.toContain('s3cretPW');
  });
});
