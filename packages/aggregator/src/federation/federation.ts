/**
 * The federation: wires the round workflow (round/machine.ts over round/stage.ts) and the
 * strategy to IO (bank sessions, the store, timers, the event bus). Every state change runs on
 * one serial queue, so a frame, a timer tick and an admin command can never interleave halfway
 * through each other; each step is short (validation, a running-sum add, a store write).
 *
 * This class is the facade the server uses; the work is done by one module per concern over a
 * shared `Core` (core.ts): banks.ts (who joins), frames.ts (dispatch), fit-stage.ts and
 * evaluate-stage.ts (the stages of the fedavg workflow), runner.ts (effects and the timer),
 * round-start.ts and round-end.ts, consortium.ts (scaler, health), admin.ts, views.ts, startup.ts.
 */
import { CloseCode, encodeFrame, type Hello, type Scaler } from '@finsecure/common/protocol';
import type { BankView, QuarantineView, StatusView, TrainingState } from '@finsecure/common/api';
import { createRng } from '@finsecure/common/rng';
import { UpdateCopyArena } from '@finsecure/common/strategy';
import * as machine from '../round/machine.js';
import type { BankRecord } from '../store/types.js';
import * as admin from './admin.js';
import * as banks from './banks.js';
import { refitScaler } from './consortium.js';
import {
  audit,
  ChangeNotStored,
  ControlRefused,
  drainAudits,
  NotFound,
  type Core,
  type FederationOptions,
} from './core.js';
import { AuditCoalescer } from '../trust/audit-coalescer.js';
import { FrameRateLimiter } from '../trust/rate-limit.js';
import { handleAnalyticsFrame, handleFrame, handleTextFrame } from './frames.js';
import { PrivacyLedger } from './privacy.js';
import { IdentityKeys } from './secagg/identities.js';
import { maybeStartRound } from './round-start.js';
import { apply } from './runner.js';
import type { BankConnection, BankSession } from './session.js';
import { BankSessions } from './sessions.js';
import type { FederationSettings } from './settings.js';
import { retryDelayMs } from './retry.js';
import { restore } from './startup.js';
import { bankView, publishBank, publishRound, publishStatus, status } from './views.js';
import { JobRunner } from './jobs/runner.js';
import * as quarantine from './quarantine.js';
import { uploadStats, type UploadStats } from './upload-slots.js';

export { FederationSettings } from './settings.js';
export { ChangeNotStored, ControlRefused, NotFound, type FederationObserver, type FederationOptions } from './core.js';
export { SERVER_VERSION, CLOCK_SKEW_WARN_MS, type AuthResult, type RefusalKind } from './banks.js';
export { specMismatch } from './admin.js';
export { reasonCode } from './update-checks.js';

export class Federation {
  private readonly core: Core;
  /** Analytics jobs (segmentation, calibration): between rounds, never during one (jobs/). */
  readonly jobs: JobRunner;
  private queue: Promise<void> = Promise.resolve();

  constructor(opts: FederationOptions) {
    this.core = {
      opts,
      sessions: new BankSessions(),
      ledger: new PrivacyLedger(opts.store),
      identities: new IdentityKeys(opts.store),
      rng: createRng(opts.seed),
      bankStats: new Map(),
      statisticsArena: new UpdateCopyArena(),
      health: new Map(),
      lastLosses: new Map(),
      refusals: {},
      strategy: null,
      strategyKey: '',
      state: 'idle',
      settings: opts.settings,
      globalVersion: 0,
      globalWeights: new Float32Array(0),
      scaler: null,
      active: null,
      nextRoundId: 1,
      roundTimer: null,
      heldSince: null,
      startTimer: null,
      heartbeat: null,
      roundsCompleted: 0,
      roundsFailed: 0,
      stepFailures: 0,
      closed: false,
      lastProgressAt: -Infinity,
      frameLimiter: new FrameRateLimiter(opts.clock, opts.frameRateLimits ?? {}),
      coalescer: null,
      auditBacklog: [],
      exhausted: new Map(),
      roundsHeld: false,
      quarantine: null,
      auditHead: null,
      lastCommittedAuprc: null,
      enqueue: (fn) => this.enqueue(fn),
      scheduleStart: (delayMs) => this.scheduleStart(delayMs),
    };
    const core = this.core;
    core.coalescer = new AuditCoalescer({
      clock: opts.clock,
      flush: (entry) => {
        core.auditBacklog.push(entry);
        // A summary is flushed by a timer, outside any step: write it on the queue.
        if (entry.summary) void this.enqueue(() => drainAudits(core));
      },
    });
    this.jobs = new JobRunner({
      clock: opts.clock,
      logger: opts.logger,
      store: opts.store,
      subscribe: (l) => opts.events.subscribe(l),
      holdRounds: () =>
        this.enqueue(() => {
          if (core.active) return false;
          core.roundsHeld = true;
          return true;
        }),
      releaseRounds: () =>
        this.enqueue(() => {
          core.roundsHeld = false;
          this.scheduleStart(0);
        }),
      connectedBanks: () => [...core.sessions.values()].map((s) => s.bankId),
      send: (bankId, frame) => core.sessions.get(bankId)?.send(frame),
      audit: (type, actor, details) => audit(core, type, actor, details),
      secureAggregation: () => core.settings.rules.secureAggregation,
      identities: (banks) => core.identities.directory(banks.filter((b) => core.identities.has(b))),
      secaggRules: () => ({
        threshold: core.settings.rules.secaggThreshold,
        degree: core.settings.rules.secaggDegree,
      }),
    });
  }

  // ------------------------------------------------------------------ lifecycle

  /** Loads or creates the global model, fails rounds a crash interrupted, restores the training state. */
  async init(): Promise<void> {
    await restore(this.core);
    await this.jobs.init();
    const { clock, heartbeatIntervalMs } = this.core.opts;
    this.core.heartbeat = clock.setInterval(() => banks.checkHeartbeats(this.core), heartbeatIntervalMs);
    this.core.sessions.sweepsStart(clock.now());
    this.scheduleStart(0);
  }

  async close(): Promise<void> {
    const core = this.core;
    const { clock } = core.opts;
    core.closed = true;
    await this.jobs.close().catch(() => {});
    clock.clearInterval(core.heartbeat);
    clock.clearTimeout(core.roundTimer);
    clock.clearTimeout(core.startTimer);
    // Summaries of repeated events still counting are written now, not lost.
    core.coalescer?.flushAll();
    await this.enqueue(() => drainAudits(core)).catch(() => {});
    // End a round in flight with the true reason, before the banks' sockets close.
    await this.enqueue(async () => {
      if (core.active) await apply(core, machine.abortRound(core.active.state, 'aggregator shut down', clock.now()));
    }).catch(() => {});
    await this.queue;
    core.sessions.closeAll(CloseCode.ShuttingDown, 'aggregator shutting down');
  }

  /**
   * Runs `fn` on the serial queue for a caller that wants its answer: its failure goes back to
   * that caller (an HTTP request answered 500), not to the round in flight.
   */
  private async answer<T>(fn: () => Promise<T>): Promise<T> {
    const r = await this.enqueue(() =>
      fn().then(
        (ok) => ({ ok }),
        (err: unknown) => ({ err }),
      ),
    );
    if ('err' in r) throw r.err;
    return r.ok;
  }

  private enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      // A refused admin command is an answer, not a failure: the round in flight goes on. So is an
      // admin change the store did not take (ChangeNotStored, only from storeAudited on admin paths):
      // nothing of it is in force, and recover() would fail the round and schedule no retry of it.
      (err) =>
        err instanceof ControlRefused || err instanceof NotFound || err instanceof ChangeNotStored
          ? undefined
          : this.recover(err),
    );
    return run;
  }

  private scheduleStart(delayMs: number): void {
    const core = this.core;
    if (core.closed) return;
    core.opts.clock.clearTimeout(core.startTimer);
    core.startTimer = core.opts.clock.setTimeout(() => void this.enqueue(() => maybeStartRound(core)), delayMs);
  }

  /**
   * A step threw (a store error, an encoding error, a bug). Never leave the federation
   * wedged: fail the round in flight with the reason, forget it, and try again later.
   */
  private async recover(err: unknown): Promise<void> {
    const core = this.core;
    const { logger, clock, store } = core.opts;
    const message = err instanceof Error ? err.message : String(err);
    logger.error({ err }, 'federation step failed');
    const round = core.active;
    core.active = null;
    clock.clearTimeout(core.roundTimer);
    // A committed round is stored; only the bookkeeping after it failed.
    if (round && round.record.status !== 'committed') {
      const reason = `internal error: ${message}`.slice(0, 500);
      try {
        round.record.status = 'failed';
        round.record.endedAt = clock.now();
        round.record.modelVersion = null;
        round.record.failureReason = reason;
        await store.saveRound(round.record);
        core.roundsFailed++;
        // A stored round moves the quarantine window (it counts stored rounds): rebuilt at next use.
        quarantine.quarantineChanged(core);
        await audit(core, 'round.failed', 'system', { roundId: round.record.id, reason });
      } catch (again) {
        logger.error({ err: again }, 'could not record the failed round; it will be marked failed at the next start');
      }
      core.sessions.sendTo(
        round.record.selected,
        encodeFrame({ type: 'round_failed', roundId: round.record.id, reason }),
      );
      publishRound(core, round.record);
      publishStatus(core);
    }
    core.stepFailures++;
    const delayMs = retryDelayMs(core.stepFailures, core.settings.rules.roundIntervalMs);
    logger.warn({ attempt: core.stepFailures, retryInMs: delayMs }, 'the next round is tried again later');
    this.scheduleStart(delayMs);
  }

  // ------------------------------------------------------------------ banks

  /** See banks.authenticate. */
  authenticate(hello: Hello): Promise<banks.AuthResult> {
    return banks.authenticate(this.core, hello);
  }

  /** Registers an authenticated connection and sends the welcome. */
  attach(hello: Hello, conn: BankConnection): Promise<BankSession | null> {
    return this.enqueue(() => banks.attach(this.core, hello, conn));
  }

  /** The socket closed. A bank in the middle of a round is simply missing from it. */
  detach(session: BankSession, why: string): Promise<void> {
    return this.enqueue(() => banks.detach(this.core, session, why));
  }

  /**
   * Changes a bank's access (token rotation, revocation: `change`, which returns false when
   * there is no such bank) on the serial queue, then closes the bank's connection with `close`
   * and audits `entry`. On the queue it is ordered with attach(), which reads the bank again:
   * a hello checked against the old token cannot join after the change. Outside it, with an
   * asynchronous store (MongoDB), the change could land between attach's read and its
   * registering the session, and the bank stayed connected on a revoked token. A store error is
   * the caller's (thrown), not the round's.
   */
  changeBankAccess(
    bankId: string,
    change: () => Promise<boolean>,
    entry: { type: string; actor: string },
    close: { code: number; reason: string },
    /** A new token lifts a revocation: the refusal recorded for it ("access revoked") is no longer true. */
    opts: { liftsRevocation?: boolean } = {},
  ): Promise<boolean> {
    // A store error answers the request (500); it does not fail the round in flight (recover()).
    return this.answer(() => banks.changeAccess(this.core, bankId, change, entry, close, opts));
  }

  isConnected(bankId: string): boolean {
    return this.core.sessions.has(bankId);
  }

  /** Handles one binary frame from an authenticated bank; never throws. */
  handleFrame(session: BankSession, bytes: Uint8Array): Promise<void> {
    return handleFrame(this.core, session, bytes);
  }

  /** A text frame from an authenticated bank: rate-limited, then `answer` (frames.ts). */
  handleTextFrame(session: BankSession, bytes: Uint8Array, answer: () => void): Promise<void> {
    return handleTextFrame(this.core, session, bytes, answer);
  }

  /** An analytics job's frame: heard from, rate-limited, then the job runner's (frames.ts). */
  handleAnalyticsFrame(session: BankSession, bytes: Uint8Array): Promise<void> {
    return handleAnalyticsFrame(this.core, session, bytes, (bankId, b) => this.jobs.onFrame(bankId, b));
  }

  // ------------------------------------------------------------------ admin

  /**
   * Starts, pauses or stops training. Starting a federation whose configured rounds are all
   * committed needs `additionalRounds` (the round budget is raised to the committed rounds plus
   * that many, an audited settings change); without it the start is refused with a
   * `ControlRefused` that says how many rounds are committed, instead of "starting" and
   * finishing again a moment later.
   */
  control(
    action: 'start' | 'pause' | 'stop',
    /** Who asked, as the audit log names them (a person, `token:<id>`, or `system`). */
    actor: string,
    opts: { additionalRounds?: number } = {},
  ): Promise<TrainingState> {
    return this.enqueue(() => admin.control(this.core, action, actor, opts));
  }

  /**
   * Makes a stored model version the global model again. The weights are stored once more as a
   * new version (versions only grow, so every bank and every stored round keeps meaning what it
   * meant), checked against their stored sha256 first, and the change is an audit entry. Refused
   * while a round is in flight (its update would be computed from the model being replaced).
   */
  rollback(version: number, actor: string): Promise<{ version: number; restoredFrom: number }> {
    // answer(): a store error is the request's (500), not the next round's (recover()).
    return this.answer(() => admin.rollback(this.core, version, actor));
  }

  /** Re-fixes the global scaler between rounds (see consortium.refitScaler). */
  refitScaler(actor: string, exclude: readonly string[] = []): Promise<{ banks: string[] }> {
    return this.answer(() => refitScaler(this.core, actor, exclude));
  }

  getSettings(): FederationSettings {
    return this.core.settings;
  }

  /** Applies a change computed from the current settings (or returns the validation error). */
  updateSettings(
    change: (current: FederationSettings) => FederationSettings | Error,
    actor: string,
  ): Promise<FederationSettings | Error> {
    // A store that refuses the change answers the admin; the settings in force and the round in flight stay.
    return this.answer(() => admin.updateSettings(this.core, change, actor));
  }

  // ------------------------------------------------------------------ views

  status(): StatusView {
    return status(this.core);
  }

  /** Fit upload slots (pull protocol): granted now, the most at once, refusals (tests, benchmarks). */
  uploadStats(): UploadStats {
    return { ...uploadStats(this.core) };
  }

  /** The current global model (version, flat weights and the scaler it expects). */
  globalModel(): { version: number; weights: Float32Array; scaler: Scaler | null } {
    return { version: this.core.globalVersion, weights: this.core.globalWeights, scaler: this.core.scaler };
  }

  epsilons(): Record<string, number> {
    return this.core.ledger.epsilons(this.core.settings.training.dp?.delta ?? 1e-5);
  }

  async bankView(bank: BankRecord): Promise<BankView> {
    return bankView(this.core, bank);
  }

  async audit(type: string, actor: string, details: Record<string, unknown>): Promise<void> {
    await audit(this.core, type, actor, details);
  }

  /** Forgets a bank's pinned identity key (admin, audited); its next hello pins the new one. */
  resetIdentity(bankId: string, actor: string): Promise<boolean> {
    return this.enqueue(async () => {
      const had = await this.core.identities.reset(bankId);
      if (had) await audit(this.core, 'bank.identity_reset', actor, { bankId });
      return had;
    });
  }

  /** The bank's quarantine state, as selection sees it (on the serial queue). */
  quarantineView(bankId: string): Promise<QuarantineView> {
    return this.answer(() => quarantine.quarantineView(this.core, bankId));
  }

  /** Lifts a bank's quarantine (admin, audited), between the round's steps. */
  liftQuarantine(bankId: string, actor: string): Promise<quarantine.LiftResult> {
    return this.answer(() => quarantine.liftQuarantine(this.core, bankId, actor));
  }

  /** Tells the dashboard a bank's view changed (after an admin edit of the bank). */
  publishBank(bankId: string): Promise<void> {
    return publishBank(this.core, bankId);
  }
}
