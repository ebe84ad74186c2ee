/**
 * What the bank's platform team sees: human-readable log lines with a progress bar during
 * local training when the daemon runs in a terminal, one JSON object per line otherwise
 * (log shippers, systemd, Docker). `--log-format` overrides the choice.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import cliProgress from 'cli-progress';
import type { BankClient } from '../client.js';

export type LogFormat = 'auto' | 'pretty' | 'json';

/** Paths that may hold secrets; pino replaces them before anything is written. */
const REDACT = ['token', '*.token'];

/** The daemon's logger: pino-pretty on a TTY (or when asked), JSON lines otherwise. */
export function createBankLogger(name: string, level: string, format: LogFormat = 'auto'): Logger {
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const opts = { name, level, redact: { paths: REDACT, censor: '[redacted]' } };
  if (!usePretty) return pino(opts);
  return pino(
    opts,
    pretty({
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname',
      sync: true,
    }),
  );
}

/**
 * Draws a progress bar for each round's local training on a TTY ("round 7 training [=====   ] 62%").
 * Does nothing when stdout is not a terminal. Returns a function that removes the bar.
 */
export function attachTrainingProgress(client: BankClient): () => void {
  if (process.stdout.isTTY !== true) return () => {};
  let bar: cliProgress.SingleBar | null = null;
  let round = -1;
  const finish = () => {
    bar?.stop();
    bar = null;
  };
  client.on('training_progress', ({ roundId, done, total }) => {
    if (roundId !== round || !bar) {
      finish();
      round = roundId;
      bar = new cliProgress.SingleBar(
        {
          format: `  round ${roundId} local training [{bar}] {percentage}% | {value}/{total} batches | ETA {eta}s`,
          clearOnComplete: true,
          hideCursor: false,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, done);
    } else bar.update(done);
    if (done >= total) finish();
  });
  for (const e of ['update_sent', 'update_dropped', 'disconnected'] as const) client.on(e, finish);
  return finish;
}
