/**
 * The bank's side of the daemon, built once from its config, data and state directory: the
 * feedback loop, the privacy ledger, the update upload, the work queue, the audit heads, the
 * secure-aggregation identity, the DP noise, the model and the analytics worker.
 *
 * Apart from client.ts, which keeps the connection policy, so that each reads on its own. The
 * parts are built in the order the daemon always built them: several read or create files in
 * the state directory (the identity before the model, which announces it).
 */
import type { Logger } from 'pino';
import type { IdentityKeyPair } from '@finsecure/common/secagg';
import { createRng, cryptoRng, type Rng } from '@finsecure/common/rng';
import type { BankConfig } from './config/index.js';
import { ScaledData, type LocalData } from './local-data.js';
import { LocalPrivacyLedger } from './privacy.js';
import { AuditHeadLog } from './audit-heads.js';
import { LocalModel } from './local-model.js';
import { UpdateUpload } from './update-upload.js';
import { announceSecAggIdentity, loadOrCreateIdentity } from './secagg/identity.js';
import { FeedbackHistoryFile, FeedbackSource, type FeedbackRead } from './feedback.js';
import { bankAnalytics, type AnalyticsWorker } from './analytics/worker.js';
import { WorkQueue } from './work-queue.js';

export interface DaemonParts {
  /** The analysts' labels read for each round (feedback.ts). */
  readonly feedbackHistory: FeedbackHistoryFile;
  readonly ledger: LocalPrivacyLedger;
  readonly upload: UpdateUpload;
  /** Training, evaluation, secure-aggregation steps and saving a model, one at a time. */
  readonly work: WorkQueue;
  /** Heads of the aggregator's audit chain seen with assignments (audit-heads.ts). */
  readonly auditHeads: AuditHeadLog;
  /** Ed25519 identity for secure aggregation (made at first start, kept in the state dir). */
  readonly identity: IdentityKeyPair;
  readonly noiseRng: Rng;
  /** The bank's model and data at work: training, evaluation, DP, kept models (local-model.ts). */
  readonly model: LocalModel;
  /** Analytics jobs (segmentation, calibration): aggregates of --data only (analytics/worker.ts). */
  readonly analytics: AnalyticsWorker;
}

/** What the parts tell the daemon as they work. */
export interface DaemonPartsEvents {
  /** Labels read for a round's training. */
  feedbackRead(read: FeedbackRead): void;
  /** Every few batches of local training: batches done of all epochs. */
  progress(roundId: number, done: number, total: number): void;
}

/** Builds the parts; the state directory must have been opened with its key (requireOpenedState). */
export function buildDaemonParts(
  config: BankConfig,
  data: LocalData,
  logger: Logger,
  on: DaemonPartsEvents,
): DaemonParts {
  // The feedback loop: labels confirmed in the bank console join each round's training.
  const feedbackHistory = new FeedbackHistoryFile(config.stateDir);
  const scaled = new ScaledData(
    data,
    new FeedbackSource(
      config.stateDir,
      data.transactionIds ?? new Set(),
      config.feedbackWeight ?? 3,
      undefined,
      () => data.test,
    ),
    (read) => on.feedbackRead(read),
  );
  const ledger = new LocalPrivacyLedger(config.stateDir);
  const upload = new UpdateUpload(ledger, logger);
  const work = new WorkQueue(logger);
  const auditHeads = new AuditHeadLog(config.stateDir, logger);
  const identity = loadOrCreateIdentity(config.stateDir);
  // Said once at start: what the other banks' operators need for their rosters, and whether this
  // bank has one (secure rounds are checked against it in SecureFit).
  announceSecAggIdentity(config.bankId, identity, config.secaggRoster ?? null, logger);
  // DP noise must be unpredictable in production; a seed is only for simulations.
  const noiseRng = config.insecureDpSeed !== undefined ? createRng(config.insecureDpSeed) : cryptoRng();
  const model = new LocalModel({
    config,
    data,
    scaled,
    feedbackHistory,
    noiseRng,
    logger,
    onProgress: (roundId, done, total) => on.progress(roundId, done, total),
  });
  const analytics = bankAnalytics(config, data, noiseRng, identity, logger);
  return { feedbackHistory, ledger, upload, work, auditHeads, identity, noiseRng, model, analytics };
}
