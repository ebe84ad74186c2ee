#!/usr/bin/env node
/**
 * `npm start`: a whole federation on one machine. Generates synthetic data (unless
 * --data names a CSV), partitions it into non-IID bank shards, starts the aggregator
 * (SQLite under ./data) with the dashboard, registers the banks through the admin API,
 * and runs each bank client as its own process, as real banks would. Ctrl-C stops all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addDemoCustomers } from './demo-customers.js';
import { segmentationSummary, startSegmentation } from './segmentation-summary.js';
import { consolePorts, headerHas, portsFree } from './local-checks.js';
import { Command } from 'commander';
import { pino } from 'pino';
import { prepareLocalShards } from './local-shards.js';
import { floatArg, intArg } from './options.js';
import { ConfigError } from '../config/load.js';
import { localConfig, type LaunchOptions } from './local-config.js';
import { createLogger, REDACT } from '../logger.js';
import { startAggregator } from '../service.js';
import { bootstrapFirstAdmin } from './users.js';
import { LOCAL_TOKENS_FILE, localTokens } from './local-tokens.js';
import { formatProgress } from './progress.js';
import { strictUsage, usageExitCode, withVersion } from './usage.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECRETS = ['FINSECURE_ADMIN_TOKEN', 'FINSECURE_VIEWER_TOKEN', 'MONGODB_URI'];
const bankEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SECRETS.includes(k)));
let failRun: ((err: Error) => void) | null = null;
const bankCli = path.resolve(here, '../../../bank-client/dist/cli/main.js');
const BANK_KEYS_DIR = 'bank-keys';

/**
 * `<dir>/bank-keys/<bank>.key`: the key a local bank's state is encrypted under (32 random
 * bytes, base64, as `finsecure-bank state-key new` writes), created once with mode 0600 and
 * kept across restarts like local-tokens.json; refused if other users can read it.
 */
function bankStateKeyFile(dir: string, bankId: string): string {
  const file = path.join(dir, BANK_KEYS_DIR, `${bankId}.key`);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } else if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0)
    throw new Error(`${file} is readable by other users; run chmod 600 ${file}`);
  return file;
}

const program = new Command('finsecure-local')
  .description(
    'Runs a local federation: the aggregator with its dashboard and N bank clients as separate processes, on synthetic data ' +
      'or on a CSV you provide (Kaggle creditcard.csv layout or the ULB handbook layout). State is kept in --dir, so a second ' +
      'run resumes from the last committed round.\n\n' +
      'It trains with the aggregator defaults, measured in bench/RESULTS.md: FedAvg (step-normalised, loss^0.5, server ' +
      'lr 0.3, local lr 0.003, SMOTE ≤5×). Other aggregator settings (aggregation strategy, SMOTE, timeouts, ...) come ' +
      'from the FINSECURE_* environment variables documented in .env.example, e.g. plain FedAvg with ' +
      'FINSECURE_NORMALIZE_STEPS=false FINSECURE_LOSS_EXPONENT=0 FINSECURE_SERVER_LEARNING_RATE=1 npm start, or from ' +
      'a JSON config file named by FINSECURE_CONFIG (e.g. training.dp for differential privacy); so do the rounds, epochs, ' +
      'port and host (FINSECURE_ROUNDS, FINSECURE_EPOCHS, ...) and the quorum, round timeout and grace period this launcher ' +
      'picks for a few local banks. The options below win over both when typed; their defaults do not.',
  )
  .option('--dir <dir>', 'working directory for data, the SQLite database, bank state and logs', './data')
  .option('--data <csv>', 'use this CSV instead of generating synthetic data')
  .option('--rows <n>', 'rows of synthetic data to generate', intArg('--rows', 1000, 10_000_000), 60_000)
  .option('--fraud-rate <r>', 'fraud rate of the synthetic data', floatArg('--fraud-rate', 0, 0.5, true), 0.01)
  .option('--banks <n>', 'number of banks', intArg('--banks', 2, 50), 3)
  .option(
    '--scheme <s>',
    'how to split data across banks: iid, dirichlet, quantity or natural (whole customers: needs --data with a CUSTOMER_ID column)',
    'dirichlet',
  )
  .option('--alpha <a>', 'Dirichlet concentration (smaller = more skewed)', floatArg('--alpha', 0, 1000, true), 1)
  .option('--rounds <n>', 'rounds to run', intArg('--rounds', 1, 100_000), 20)
  .option('--epochs <n>', 'local epochs per round', intArg('--epochs', 1, 1000), 2)
  .option('-p, --port <port>', 'HTTP port of the aggregator and dashboard', intArg('--port', 0, 65535), 8080)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option(
    '--console-port <port>',
    "each bank's console (scoring, alerts, decisions) on 127.0.0.1: bank i on this port + i - 1; 0 for none (default: --port + 1)",
    intArg('--console-port', 0, 65535),
  )
  .option('--seed <n>', 'seed for data generation, partitioning and the initial model', intArg('--seed', 0), 42);
// `npm start -- --version`: the aggregator package's version, before any data or config work.
withVersion(program, 'finsecure-local');
// A usage error: one line and a pointer to --help, exit 2 (usage.ts), as the other CLIs.
strictUsage(program);

program.action(async (o: LaunchOptions) => {
  if (!['iid', 'dirichlet', 'quantity', 'natural'].includes(o.scheme)) {
    process.stderr.write(`finsecure-local: --scheme must be iid, dirichlet, quantity or natural, got "${o.scheme}"\n`);
    process.exit(2);
  }
  if (!existsSync(bankCli)) {
    process.stderr.write(`finsecure-local: the bank client is not built (${bankCli}); run npm run build\n`);
    process.exit(2);
  }
  const dir = path.resolve(o.dir);
  const logs = path.join(dir, 'logs');
  // Owner-only, as the aggregator makes its own (README: data directory and backups).
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  // Kept in the working directory (mode 0600): a restart keeps open dashboards logged in.
  const tokens = localTokens(dir);
  const configFor = (inputSize: number) =>
    localConfig(o, tokens, dir, inputSize, (name) => program.getOptionValueSource(name) === 'cli');
  // Checked before the data work: a bad FINSECURE_* variable or config file is named at once,
  // and so is a port another program holds (the aggregator's, and each bank console's).
  const early = configFor(30);
  await portsFree(early.host, [
    { port: early.port, flag: '--port' },
    ...consolePorts(o.consolePort ?? (early.port === 0 ? 0 : early.port + 1), o.banks),
  ]);
  const shards = await prepareLocalShards({
    dir: path.join(dir, 'local-federation'),
    data: o.data,
    rows: o.rows,
    fraudRate: o.fraudRate,
    banks: o.banks,
    scheme: o.scheme as 'iid',
    alpha: o.alpha,
    seed: o.seed,
  });
  // The synthetic demo data has no customers: give it the handbook's customer columns (segmentation).
  if (!o.data) for (const [i, b] of shards.banks.entries()) await addDemoCustomers(b.file, o.seed * 31 + i);
  const config = configFor(shards.numFeatures);
  const logger = createLogger(config.logLevel);
  // The aggregator logs to a file; the console shows a short story of the run.
  const fileLogger = pino(
    { level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' } },
    createWriteStream(path.join(logs, 'aggregator.log'), { flags: 'a', mode: 0o600 }),
  );
  const agg = await startAggregator(config, { logger: fileLogger });
  // People: the first run creates the first admin and prints its one-time password once.
  await bootstrapFirstAdmin(agg.store, (t) => process.stdout.write(t), agg.url);
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) {
      // A second Ctrl-C: the user wants out now.
      for (const c of children) c.kill('SIGKILL');
      process.exit(130);
    }
    stopping = true;
    process.stdout.write('\nStopping the banks and the aggregator… (Ctrl-C again to force)\n');
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    await agg.close().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // Whatever goes wrong from here on, no bank process is left behind.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`finsecure-local: ${err.message}\n`);
    void stop(1);
  });
  failRun = (err) => {
    process.stderr.write(`finsecure-local: ${err.message}\n`);
    void stop(1);
  };

  const headers = { authorization: `Bearer ${agg.adminToken}`, 'content-type': 'application/json' };
  // Rounds from earlier runs in this directory are history, not news.
  const seen = new Set<number>((await agg.store.listRounds({ limit: 100_000 })).map((r) => r.id));
  // One bank console per bank, on the bank's own host (127.0.0.1), beside its daemon.
  const consoleBase = o.consolePort ?? (config.port === 0 ? 0 : config.port + 1);
  const consoleUrl = (i: number) => `http://127.0.0.1:${consoleBase + i}`;
  for (const shard of shards.banks) {
    // Tokens are only ever stored hashed, so each run issues fresh ones.
    let res = await fetch(`${agg.url}/api/banks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ id: shard.id, name: shard.name }),
    });
    if (res.status === 409)
      res = await fetch(`${agg.url}/api/banks/${shard.id}/token`, {
        method: 'POST',
        headers: { authorization: headers.authorization },
      });
    if (!res.ok) throw new Error(`could not register ${shard.id}: ${res.status} ${await res.text()}`);
    const { token } = (await res.json()) as { token: string };
    const stateKeyFile = bankStateKeyFile(dir, shard.id);
    // The demo's banks hold synthetic data: they also answer calibration jobs, exact (the README's
    // example), which a real bank allows only in its own config (calibrationExact, default false).
    const bankConfig = path.join(dir, 'bank-config', `${shard.id}.json`);
    mkdirSync(path.dirname(bankConfig), { recursive: true, mode: 0o700 });
    writeFileSync(bankConfig, JSON.stringify({ calibrationExact: true }, null, 2) + '\n', { mode: 0o600 });
    const out = createWriteStream(path.join(logs, `${shard.id}.log`), { flags: 'a', mode: 0o600 });
    const child = spawn(
      process.execPath,
      [
        bankCli,
        'start',
        '--config',
        bankConfig,
        '--server',
        `${agg.wsUrl}/ws/bank`,
        '--bank-id',
        shard.id,
        '--data',
        shard.file,
        '--state-dir',
        path.join(dir, 'bank-state', shard.id),
        '--state-key-file',
        stateKeyFile,
        '--seed',
        String(o.seed),
        ...(consoleBase ? ['--console-port', String(consoleBase + shards.banks.indexOf(shard))] : []),
      ],
      {
        // Banks get their own token, never the aggregator's secrets.
        env: { ...bankEnv, FINSECURE_BANK_TOKEN: token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    child.on('exit', (code) => {
      if (!stopping)
        process.stdout.write(`  ${shard.id} exited with code ${code}; see ${path.join(logs, `${shard.id}.log`)}\n`);
    });
    children.push(child);
  }

  process.stdout.write(
    [
      '',
      'FinSecure local federation',
      `  Dashboard and API: ${agg.url}   (API docs: ${agg.url}/docs)`,
      `  Store:             ${agg.store.kind === 'sqlite' ? path.join(dir, 'finsecure.db') : 'MongoDB (MONGODB_URI)'}`,
      `  Admin token:       ${agg.adminToken}`,
      `  Viewer token:      ${tokens.viewerToken}   (read-only)`,
      `                     ${tokens.source === 'environment' ? 'from FINSECURE_ADMIN_TOKEN' : `kept in ${path.join(dir, LOCAL_TOKENS_FILE)} (mode 0600); delete it to issue new tokens`}`,
      `  Banks:             ${shards.banks.map((b) => `${b.id} (${b.rows} rows, ${b.frauds} frauds)`).join(', ')}`,
      `  Data:              ${shards.source}`,
      `  Logs:              ${logs}`,
      `  Bank state keys:   ${path.join(dir, BANK_KEYS_DIR)} (one per bank, mode 0600; bank state is encrypted under them)`,
      ...(consoleBase
        ? [
            `  Bank consoles:     ${shards.banks.map((b, i) => `${b.id} ${consoleUrl(i)}`).join(', ')}`,
            `                     first console admin: npx --no-install finsecure-bank users add admin --role admin --state-dir ${path.join(dir, 'bank-state', '<bank id>')} --state-key-file ${path.join(dir, BANK_KEYS_DIR, '<bank id>.key')}`,
          ]
        : []),
      `  Rounds:            ${config.rules.rounds}, ${config.training.epochs} local epoch(s) each`,
      ...(seen.size ? [`  Resuming:          ${resumeSummary(agg.federation.status(), seen.size, dir)}`] : []),
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const banks = (await (
      await fetch(`${agg.url}/api/banks`, { headers: { authorization: headers.authorization } })
    ).json()) as { id: string; connected: boolean }[];
    const connected = banks.filter((b) => b.connected && shards.banks.some((s) => s.id === b.id)).length;
    if (connected === shards.banks.length || Date.now() > deadline) {
      if (connected < shards.banks.length)
        process.stdout.write(
          `  only ${connected} of ${shards.banks.length} banks connected after 60 s; starting anyway (see ${logs})\n`,
        );
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const started = await fetch(`${agg.url}/api/training/start`, {
    method: 'POST',
    headers: { authorization: headers.authorization },
  });
  if (started.status === 409) {
    // Every configured round is already committed: say so instead of "starting" and finishing.
    const { message } = (await started.json()) as { message: string };
    process.stdout.write(
      `  ${message}.\n  To train more: npm start -- --rounds ${agg.federation.status().roundsCompleted + config.rules.rounds}\n`,
    );
  } else if (!started.ok) throw new Error(`could not start training: ${started.status} ${await started.text()}`);
  const tty = process.stdout.isTTY === true;
  let lastProgress = '';
  // Which banks have reported in the round in flight, from the live status events (every
  // stage change and every accepted answer): one line rewritten in place on a terminal, a
  // new line per change otherwise (logs, CI).
  const pct = (x: unknown) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : 'n/a');
  /** A round's one line when it ends: from its live event, so it comes before the next round's progress. */
  const printRound = (r: {
    id: number;
    status: string;
    metrics: Record<string, number> | null;
    participants: string[];
    durations: { totalMs?: number };
    failureReason: string | null;
  }) => {
    if (seen.has(r.id) || (r.status !== 'committed' && r.status !== 'failed')) return;
    seen.add(r.id);
    if (tty && lastProgress) {
      process.stdout.write('\r\x1b[K');
      lastProgress = '';
    }
    if (r.status === 'committed') {
      process.stdout.write(
        `  round ${String(r.id).padStart(3)} committed  F1 ${pct(r.metrics?.f1)}  AUPRC ${pct(r.metrics?.auprc)}  precision ${pct(r.metrics?.precision)}  recall ${pct(r.metrics?.recall)}  ${r.participants.length} banks  ${((r.durations.totalMs ?? 0) / 1000).toFixed(1)} s\n`,
      );
    } else {
      process.stdout.write(`  round ${String(r.id).padStart(3)} FAILED: ${r.failureReason}\n`);
    }
  };
  agg.events.subscribe((e) => {
    if (e.type === 'round') return printRound(e.round);
    if (e.type !== 'status') return;
    const line = formatProgress(e.status.currentRound, tty);
    if (line === lastProgress) return;
    if (tty) process.stdout.write(`\r\x1b[K${line}`);
    else if (line) process.stdout.write(`${line}\n`);
    lastProgress = line;
  });

  const segmentation = { asked: false, id: null as number | null, reported: false };
  // Segments group customers: a CSV of one's own without a CUSTOMER_ID column has none to group.
  const customers = !o.data || headerHas(shards.banks[0]!.file, 'CUSTOMER_ID');
  const poll = setInterval(async () => {
    try {
      // The live events print each round as it ends; this catches any they missed.
      const res = await fetch(`${agg.url}/api/rounds?limit=20`, {
        headers: { authorization: headers.authorization },
      });
      const rounds = (await res.json()) as Parameters<typeof printRound>[0][];
      for (const r of rounds.reverse()) printRound(r);
      const status = (await (
        await fetch(`${agg.url}/api/status`, { headers: { authorization: headers.authorization } })
      ).json()) as { state: string; roundsCompleted: number; modelVersion: number };
      if (status.state === 'finished' && !seen.has(-1)) {
        seen.add(-1);
        process.stdout.write(
          `${tty ? '\r\x1b[K' : ''}\nTraining finished: ${status.roundsCompleted} rounds are committed (global model v${status.modelVersion}). The dashboard stays up at ${agg.url} until you press Ctrl-C.\n`,
        );
      }
      // One segmentation after training (issue 19), reported in one line when it ends.
      if (status.state === 'finished' && !segmentation.asked) {
        segmentation.asked = true;
        if (customers)
          segmentation.id = await startSegmentation(agg.url, headers, (line) => process.stdout.write(line));
        else
          process.stdout.write(
            'Segmentation skipped: the data has no CUSTOMER_ID column (segments group customers; the handbook layout has one).\n',
          );
      }
      if (segmentation.id !== null && !segmentation.reported) {
        const line = await segmentationSummary(agg.url, headers, segmentation.id);
        if (line) {
          segmentation.reported = true;
          process.stdout.write(`${line}\n`);
        }
      }
    } catch (err) {
      logger.debug({ err }, 'progress poll failed');
    }
  }, 1000);
  poll.unref();
});

/** What a restart finds: committed rounds (from the store) and the model training continues from. */
function resumeSummary(
  status: { roundsCompleted: number; roundsFailed: number; modelVersion: number },
  stored: number,
  dir: string,
): string {
  return `${stored} earlier round(s) in ${dir} (${status.roundsCompleted} committed, ${status.roundsFailed} failed); training continues from global model v${status.modelVersion}`;
}

program.parseAsync(process.argv).catch((err) => {
  const usage = usageExitCode(err);
  if (usage !== undefined) process.exit(usage);
  if (failRun) return failRun(err as Error);
  // The store's messages name the aggregator's flag; this launcher's is --dir.
  process.stderr.write(`finsecure-local: ${(err as Error).message.replace(/its own --data-dir\b/, 'its own --dir')}\n`);
  // A bad setting (FINSECURE_*, the config file) is the user's to fix: 2, as for a bad option.
  process.exit(err instanceof ConfigError ? 2 : 1);
});
