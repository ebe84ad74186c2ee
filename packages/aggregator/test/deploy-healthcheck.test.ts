/**
 * The aggregator image's HEALTHCHECK (docker/healthcheck.mjs) against a real
 * aggregator, over HTTP and over HTTPS with certificates made by
 * deploy/make-tls-certs.sh (the commands the README documents). The check runs as a
 * child process, exactly as Docker runs it: exit 0 healthy, 1 unhealthy.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startAggregator, type RunningAggregator } from '../src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const HEALTHCHECK = path.join(ROOT, 'docker/healthcheck.mjs');
const MAKE_CERTS = path.join(ROOT, 'deploy/make-tls-certs.sh');

const tmp = mkdtempSync(path.join(tmpdir(), 'finsecure-healthcheck-'));
const running: RunningAggregator[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const a of running) await a.close();
  for (const s of servers) await new Promise((r) => s.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  // Asynchronous on purpose: the aggregator under test answers from this process.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FINSECURE_')));
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...clean, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : -1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const healthcheck = (env: Record<string, string>) => run(process.execPath, [HEALTHCHECK], env);
const portOf = (url: string) => new URL(url).port;

async function aggregator(dir: string, tls?: { cert: string; key: string }): Promise<RunningAggregator> {
  const config = loadConfig({
    flags: {
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      adminToken: 'test-admin-token-0123456789',
      backend: 'wasm',
      logLevel: 'silent',
      ...(tls ? { tlsCert: tls.cert, tlsKey: tls.key } : {}),
    },
  });
  const agg = await startAggregator(config, { logger: pino({ level: 'silent' }) });
  running.push(agg);
  return agg;
}

async function fakeServer(status: number, body: string): Promise<number> {
  const server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('docker/healthcheck.mjs', () => {
  it('reports a running aggregator healthy (HTTP)', async () => {
    const agg = await aggregator(path.join(tmp, 'http'));
    const r = await healthcheck({ FINSECURE_PORT: portOf(agg.url) });
    expect(r.code, r.stderr).toBe(0);
  });

  it('reports unhealthy when nothing listens, on an error status, or on a body that is not {status: "ok"}', async () => {
    const closed = await fakeServer(200, '{}');
    await new Promise((r) => servers.pop()!.close(r));
    const down = await healthcheck({ FINSECURE_PORT: String(closed) });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/unhealthy: .*ECONNREFUSED/);

    const failing = await healthcheck({ FINSECURE_PORT: String(await fakeServer(503, '{"status":"starting"}')) });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('HTTP 503');

    const wrong = await healthcheck({
      FINSECURE_PORT: String(await fakeServer(200, '<html>not the aggregator</html>')),
    });
    expect(wrong.code).toBe(1);
  });
});

describe('TLS: deploy/make-tls-certs.sh and the aggregator over HTTPS', () => {
  const certs = path.join(tmp, 'tls');
  let agg: RunningAggregator;

  beforeAll(async () => {
    const made = await run('sh', [MAKE_CERTS, certs, 'finsecure.example.org'], {});
    expect(made.code, `make-tls-certs.sh failed:\n${made.stderr}`).toBe(0);
    agg = await aggregator(path.join(tmp, 'https'), {
      cert: path.join(certs, 'server.crt'),
      key: path.join(certs, 'server.key'),
    });
  });

  it('the aggregator serves HTTPS with them, and the health check follows FINSECURE_TLS_CERT', async () => {
    expect(agg.url).toMatch(/^https:/);
    const ok = await healthcheck({
      FINSECURE_PORT: portOf(agg.url),
      FINSECURE_TLS_CERT: path.join(certs, 'server.crt'),
    });
    expect(ok.code, ok.stderr).toBe(0);
    // Plain HTTP to an HTTPS port is unhealthy, not a hang.
    const plain = await healthcheck({ FINSECURE_PORT: portOf(agg.url) });
    expect(plain.code).toBe(1);
  });

  /** GET /api/health over TLS as a client that trusts only ca.crt and asked for host `servername`. */
  function get(servername: string): Promise<number> {
    return new Promise((resolve, reject) => {
      https
        .get(
          {
            host: '127.0.0.1',
            port: Number(portOf(agg.url)),
            path: '/api/health',
            servername,
            ca: readFileSync(path.join(certs, 'ca.crt')),
            agent: false,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', reject);
    });
  }

  it('banks (host "aggregator"), local and public clients verify the certificate against ca.crt alone', async () => {
    for (const host of ['aggregator', 'localhost', 'finsecure.example.org']) expect(await get(host), host).toBe(200);
    // A name the certificate does not carry is refused: the subjectAltName is really checked.
    await expect(get('evil.example.org')).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});
