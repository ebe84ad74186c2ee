/**
 * The federation: wires the pure round machine and the strategy to IO (bank sessions,
 * the store, timers, the event bus). Every state change runs on one serial queue, so a
 * frame, a timer tick and an admin command can never interleave halfway through each
 * other; each step is short (validation, a running-sum add, a store write).
 */
import {
  ClientMessage,
  CloseCode,
  decodeFrame,
  encodeFrame,
  PROTOCOL_VERSION,
  type EvaluationResult,
  type Hello,
  type Scaler,
  type TrainingConfig,
  type Update,
} from '@finsecure/common/protocol';
import type { BankView, RoundRecord, StageProgress, StatusView, TrainingState } from '@finsecure/common/api';
import { createRng, type Rng } from '@finsecure/common/rng';
import { initWeights, manifestFor, weightsSha256, type MlpSpec } from '@finsecure/common/model';
import { l2Norm } from '@finsecure/common/dp';
import { globalMetrics, precisionRecallF1, auprcFromHistogram } from '@finsecure/common/metrics';
import {
  MAX_TRAINED_PER_EXAMPLE,
  type Aggregation,
  type BankCandidate,
  type EvaluationReport,
  type Strategy,
} from '@finsecure/common/strategy';
import type { Logger } from 'pino';
import { hashToken, tokenMatches } from '../auth/tokens.js';
import type { EventBus } from '../events/bus.js';
import * as machine from '../round/machine.js';
import { strategySpec, type RoundRules } from '../round/rules.js';
import type { BankRecord, Store } from '../store/types.js';
import type { Clock } from './clock.js';
import { PrivacyLedger } from './privacy.js';
import { parseStoredSettings, type FederationSettings } from './settings.js';
import { globalScaler } from './scaler.js';
import { assessBank, type BankHealth } from './health.js';
import { BankSession, type BankConnection } from './session.js';

export const SERVER_VERSION = '0.1.0';
/** Clock skew (bank clock − aggregator clock, at hello) beyond which a bank is logged and audited. */
export const CLOCK_SKEW_WARN_MS = 5_000;

export { FederationSettings } from './settings.js';

export interface FederationOptions {
  store: Store;
  /** Builds the aggregation strategy from the settings in force (rebuilt when they change). */
  makeStrategy: (settings: FederationSettings) => Strategy;
  spec: MlpSpec;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  seed: number;
  settings: FederationSettings;
  maxFrameBytes: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** Observers for Prometheus metrics; optional so tests need not care. */
  observer?: FederationObserver;
}

export interface FederationObserver {
  roundFinished?(round: RoundRecord): void;
  updateRejected?(reason: string): void;
  bytes?(direction: 'up' | 'down', n: number): void;
  aggregationMs?(ms: number): void;
}

/** An admin command that cannot be carried out in the current state (the API answers 409). */
export class ControlRefused extends Error {}
/** The thing an admin command names does not exist (the API answers 404). */
export class NotFound extends Error {}

/** The first field in which a stored model spec differs from the configured one, or null. */
export function specMismatch(stored: Record<string, unknown> | MlpSpec, configured: MlpSpec): string | null {
  const s = stored as Partial<MlpSpec>;
  if (s.inputSize !== configured.inputSize) return 'inputSize';
  if (JSON.stringify(s.hidden) !== JSON.stringify(configured.hidden)) return 'hidden';
  return null; // dropout changes training, not the weights' meaning
}

function describeSpec(spec: Record<string, unknown> | MlpSpec): string {
  const s = spec as Partial<MlpSpec>;
  return `inputSize ${s.inputSize}, hidden [${(s.hidden ?? []).join(', ')}], dropout ${s.dropout}`;
}

/** Why a hello was refused: bad credentials (nobody proved an identity) or a known bank that cannot join. */
export type RefusalKind = 'credentials' | 'revoked' | 'protocol' | 'schema';
export type AuthResult = { ok: true; bank: BankRecord } | { ok: false; kind: RefusalKind; reason: string };

interface ActiveRound {
  state: machine.RoundState;
  record: RoundRecord;
  config: TrainingConfig;
  aggregation: Aggregation;
  candidate: Float32Array | null;
  reports: EvaluationReport[];
  /** Phase of the last persisted copy of the record. */
  savedPhase: machine.RoundPhase | null;
  /** Evaluation settings fixed when the round started (a config change mid-round must not break it). */
  evaluation: { threshold: number; bins: number };
  /** The strategy the round started with: a config change mid-round applies from the next round. */
  strategy: Strategy;
}

/** Short, stable reason codes for metrics labels (the full reason goes to the audit log). */
export function reasonCode(reason: string): string {
  const m =
    /^(stale round id|duplicate|late|bank \S+ was not selected|update computed from model version|wrong weights|non-finite|frame|unknown)/.exec(
      reason,
    );
  if (!m) return 'other';
  const code = m[1]!;
  if (code.startsWith('bank ')) return 'not_selected';
  if (code.startsWith('update computed')) return 'stale_model';
  return code.replace(/ /g, '_');
}

export class Federation {
  private readonly sessions = new Map<string, BankSession>();
  private readonly ledger: PrivacyLedger;
  private strategy: Strategy | null = null;
  private strategyKey = '';
  private readonly rng: Rng;
  private queue: Promise<void> = Promise.resolve();
  private state: TrainingState = 'idle';
  private settings: FederationSettings;
  private globalVersion = 0;
  private globalWeights: Float32Array = new Float32Array(0);
  private scaler: Scaler | null = null;
  private active: ActiveRound | null = null;
  private nextRoundId = 1;
  private roundTimer: unknown = null;
  private startTimer: unknown = null;
  private heartbeat: unknown = null;
  private roundsCompleted = 0;
  private roundsFailed = 0;
  private readonly bankStats = new Map<
    string,
    { rounds: number; lastUpdateBytes: number | null; rejections: { roundId: number; reason: string; at: number }[] }
  >();
  private closed = false;
  /** Latest health assessment per bank (see health.ts). */
  private readonly health = new Map<string, BankHealth>();
  /** Last refused connection per bank whose token was valid (schema, protocol, revoked). Persisted. */
  private refusals: Record<string, { at: number; reason: string; kind: string }> = {};

  constructor(private readonly opts: FederationOptions) {
    this.settings = opts.settings;
    this.rng = createRng(opts.seed);
    this.ledger = new PrivacyLedger(opts.store);
  }

  // ------------------------------------------------------------------ lifecycle

  /** Loads or creates the global model, fails rounds a crash interrupted, restores the training state. */
  async init(): Promise<void> {
    const { store, logger, spec } = this.opts;
    const latest = await store.latestModel();
    if (latest) {
      const expected = manifestFor(spec).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
      // The architecture, not only the weight count: [64, 32] and [128] both have 4,097 weights
      // for 30 features, and the old weights would be sent as a model they do not fit.
      const mismatch = specMismatch(latest.spec, spec);
      if (mismatch || latest.weights.length !== expected) {
        throw new Error(
          `stored global model v${latest.version} was trained as ${describeSpec(latest.spec)} (${latest.weights.length} weights) ` +
            `but the configured model is ${describeSpec(spec)} (${expected} weights)${mismatch ? `: ${mismatch} differs` : ''}; ` +
            'use a new data directory or the original model settings',
        );
      }
      this.globalVersion = latest.version;
      this.globalWeights = latest.weights;
    } else {
      const w = initWeights(spec, createRng(this.opts.seed));
      await store.saveModel({
        version: 0,
        roundId: null,
        createdAt: this.opts.clock.now(),
        sha256: weightsSha256(w.data),
        weights: w.data,
        spec: { ...spec },
      });
      this.globalWeights = w.data;
    }
    const interrupted = await store.failUnfinishedRounds('aggregator restarted', this.opts.clock.now());
    for (const id of interrupted) {
      await this.audit('round.failed', 'system', { roundId: id, reason: 'aggregator restarted' });
    }
    this.nextRoundId = (await store.maxRoundId()) + 1;
    this.scaler = await store.getSetting<Scaler>('scaler');
    this.refusals = (await store.getSetting<typeof this.refusals>('bankRefusals')) ?? {};
    // Settings changed through the API survive a restart, unless the operator restarted
    // with a different configuration: then what they just asked for wins.
    // Both are parsed: settings stored by an earlier version get the defaults of fields added
    // since, so an upgrade neither loses an admin's changes nor runs with undefined fields.
    const storedSettings = await store.getSetting<unknown>('federation');
    const savedSettings = parseStoredSettings(storedSettings);
    const lastStartup = parseStoredSettings(await store.getSetting<unknown>('startupSettings'));
    if (savedSettings && lastStartup && JSON.stringify(lastStartup) === JSON.stringify(this.opts.settings)) {
      this.settings = savedSettings;
    } else if (storedSettings && !savedSettings) {
      logger.warn('the stored training settings and round rules are no longer valid; the configuration replaces them');
    } else if (savedSettings) {
      logger.info(
        'the configuration differs from the last start; its training settings and round rules replace the stored ones',
      );
    }
    await store.setSetting('startupSettings', this.opts.settings);
    await store.setSetting('federation', this.settings);
    await this.ledger.load();
    for (const r of await store.listRoundsAscending()) {
      if (r.status === 'committed') this.roundsCompleted++;
      if (r.status === 'failed') this.roundsFailed++;
      for (const [bankId, s] of Object.entries(r.banks)) {
        const st = this.statsOf(bankId);
        if (r.participants.includes(bankId)) st.rounds++;
        if (s.updateBytes !== undefined) st.lastUpdateBytes = s.updateBytes;
        if (s.rejected) st.rejections.push({ roundId: r.id, reason: s.rejected, at: r.endedAt ?? r.startedAt });
        st.rejections = st.rejections.slice(-20);
      }
    }
    const saved = await store.getSetting<TrainingState>('trainingState');
    if (saved === 'running') {
      this.state = 'running';
      logger.info({ modelVersion: this.globalVersion, interrupted }, 'resuming training from the last committed round');
    } else if (saved) {
      this.state = saved;
    }
    this.heartbeat = this.opts.clock.setInterval(() => this.checkHeartbeats(), this.opts.heartbeatIntervalMs);
    this.scheduleStart(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.opts.clock.clearInterval(this.heartbeat);
    this.opts.clock.clearTimeout(this.roundTimer);
    this.opts.clock.clearTimeout(this.startTimer);
    // End a round in flight with the true reason, before the banks' sockets close.
    await this.enqueue(async () => {
      if (this.active)
        await this.apply(machine.abortRound(this.active.state, 'aggregator shut down', this.opts.clock.now()));
    }).catch(() => {});
    await this.queue;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of sessions) s.close(CloseCode.ShuttingDown, 'aggregator shutting down');
  }

  private enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      // A refused admin command is an answer, not a failure: the round in flight goes on.
      (err) => (err instanceof ControlRefused || err instanceof NotFound ? undefined : this.recover(err)),
    );
    return run;
  }

  /**
   * A step threw (a store error, an encoding error, a bug). Never leave the federation
   * wedged: fail the round in flight with the reason, forget it, and try again later.
   */
  private async recover(err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    this.opts.logger.error({ err }, 'federation step failed');
    const round = this.active;
    if (round && round.record.status === 'committed') {
      // The commit itself is stored; only the bookkeeping after it failed.
      this.active = null;
      this.opts.clock.clearTimeout(this.roundTimer);
    } else if (round) {
      this.active = null;
      this.opts.clock.clearTimeout(this.roundTimer);
      const reason = `internal error: ${message}`.slice(0, 500);
      try {
        round.record.status = 'failed';
        round.record.endedAt = this.opts.clock.now();
        round.record.modelVersion = null;
        round.record.failureReason = reason;
        await this.opts.store.saveRound(round.record);
        this.roundsFailed++;
        await this.audit('round.failed', 'system', { roundId: round.record.id, reason });
      } catch (again) {
        this.opts.logger.error(
          { err: again },
          'could not record the failed round; it will be marked failed at the next start',
        );
      }
      const frame = encodeFrame({ type: 'round_failed', roundId: round.record.id, reason });
      for (const b of round.record.selected) this.sessions.get(b)?.send(frame);
      this.publishRound(round.record);
      this.publishStatus();
    }
    this.scheduleStart(Math.max(1_000, this.settings.rules.roundIntervalMs));
  }

  // ------------------------------------------------------------------ banks

  /**
   * Checks a hello. The token is checked first: only a bank that proved who it is gets a
   * refusal recorded under its id (shown on the dashboard and in /api/banks), so nobody can
   * write reasons into another bank's record by claiming its id.
   */
  async authenticate(hello: Hello): Promise<AuthResult> {
    const bank = await this.opts.store.getBank(hello.bankId);
    // Hash the presented token even for unknown banks so timing does not reveal which ids exist.
    const matches = tokenMatches(hello.token, bank?.tokenHash ?? hashToken('unknown-bank'));
    if (!bank || !matches) return { ok: false, kind: 'credentials', reason: 'unknown bank or bad token' };
    const refuse = async (kind: RefusalKind, reason: string): Promise<AuthResult> => {
      this.refusals[bank.id] = { at: this.opts.clock.now(), reason, kind };
      await this.opts.store.setSetting('bankRefusals', this.refusals);
      await this.publishBank(bank.id);
      return { ok: false, kind, reason };
    };
    if (bank.revokedAt !== null) return refuse('revoked', 'bank access revoked');
    if (hello.protocolVersion !== PROTOCOL_VERSION)
      return refuse(
        'protocol',
        `unsupported protocol version ${hello.protocolVersion} (server speaks ${PROTOCOL_VERSION})`,
      );
    if (hello.numFeatures !== this.opts.spec.inputSize)
      return refuse(
        'schema',
        `bank data has ${hello.numFeatures} features, the model expects ${this.opts.spec.inputSize}`,
      );
    return { ok: true, bank };
  }

  /** Registers an authenticated connection and sends the welcome. */
  attach(hello: Hello, conn: BankConnection): Promise<BankSession | null> {
    return this.enqueue(async () => {
      const now = this.opts.clock.now();
      // Revocation or token rotation may have happened since authenticate().
      const bank = await this.opts.store.getBank(hello.bankId);
      if (!bank || bank.revokedAt !== null) {
        conn.close(CloseCode.Unauthorized, 'bank access revoked');
        return null;
      }
      const previous = this.sessions.get(hello.bankId);
      if (previous) {
        previous.close(CloseCode.Replaced, 'replaced by a newer connection');
        await this.lose(hello.bankId, 'reconnected (previous connection replaced)');
      }
      const session = new BankSession(hello.bankId, hello, conn, now);
      this.sessions.set(hello.bankId, session);
      session.send(
        encodeFrame({
          type: 'welcome',
          model: this.opts.spec,
          protocolVersion: PROTOCOL_VERSION,
          bankId: hello.bankId,
          serverVersion: SERVER_VERSION,
          heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
          maxFrameBytes: this.opts.maxFrameBytes,
          modelVersion: this.globalVersion,
        }),
      );
      await this.opts.store.touchBank(hello.bankId, now);
      if (this.refusals[hello.bankId]) {
        delete this.refusals[hello.bankId];
        await this.opts.store.setSetting('bankRefusals', this.refusals);
      }
      // Deadlines are judged on this clock, so skew cannot make a bank drop its updates; a
      // large one is still worth knowing (certificates, logs, audit times).
      const skewMs = hello.sentAt !== undefined ? hello.sentAt - now : null;
      if (skewMs !== null && Math.abs(skewMs) > CLOCK_SKEW_WARN_MS) {
        this.opts.logger.warn({ bankId: hello.bankId, skewMs }, "bank clock differs from the aggregator's");
        await this.audit('bank.clock_skew', hello.bankId, { skewMs });
      }
      await this.audit('bank.joined', hello.bankId, {
        numExamples: hello.numExamples,
        backend: hello.backend,
        clientVersion: hello.clientVersion,
        dp: hello.dp ?? null,
      });
      this.opts.logger.info(
        { bankId: hello.bankId, numExamples: hello.numExamples, backend: hello.backend },
        'bank connected',
      );
      await this.assessHealth(hello.bankId);
      await this.publishBank(hello.bankId);
      this.publishStatus();
      this.scheduleStart(0);
      return session;
    });
  }

  /** The socket closed. A bank in the middle of a round is simply missing from it. */
  detach(session: BankSession, why: string): Promise<void> {
    return this.enqueue(async () => {
      if (this.sessions.get(session.bankId) !== session) return; // already replaced
      this.sessions.delete(session.bankId);
      await this.lose(session.bankId, `disconnected (${why})`);
      await this.opts.store.touchBank(session.bankId, this.opts.clock.now());
      await this.audit('bank.left', session.bankId, { reason: why });
      this.opts.logger.info({ bankId: session.bankId, reason: why }, 'bank disconnected');
      await this.publishBank(session.bankId);
      this.publishStatus();
    });
  }

  private async lose(bankId: string, reason: string): Promise<void> {
    if (!this.active) return;
    await this.apply(machine.bankLost(this.active.state, bankId, reason, this.opts.clock.now()));
  }

  /** Closes a bank's connection (after revocation). */
  disconnectBank(bankId: string, code: number, reason: string): void {
    this.sessions.get(bankId)?.close(code, reason);
  }

  isConnected(bankId: string): boolean {
    return this.sessions.has(bankId);
  }

  private checkHeartbeats(): void {
    const now = this.opts.clock.now();
    const beat = encodeFrame({ type: 'heartbeat', sentAt: now });
    for (const s of this.sessions.values()) {
      if (now - s.lastMessageAt > this.opts.heartbeatTimeoutMs) {
        this.opts.logger.warn({ bankId: s.bankId }, 'heartbeat timeout; closing the connection');
        s.close(CloseCode.HeartbeatTimeout, `no message for ${now - s.lastMessageAt} ms`);
        void this.detach(s, 'heartbeat timeout');
      } else {
        s.send(beat);
      }
    }
  }

  // ------------------------------------------------------------------ frames

  /**
   * Handles one binary frame from an authenticated bank. Never throws: bad input is
   * answered with an error frame (and audited when it concerns an update).
   */
  handleFrame(session: BankSession, bytes: Uint8Array): Promise<void> {
    // A replaced connection's last frames are not this bank's current voice.
    if (this.sessions.get(session.bankId) !== session) return Promise.resolve();
    session.lastMessageAt = this.opts.clock.now();
    session.bytesUp += bytes.byteLength;
    this.opts.observer?.bytes?.('up', bytes.byteLength);
    let decoded: ReturnType<typeof decodeFrame<ClientMessage>>;
    try {
      decoded = decodeFrame(bytes, ClientMessage, { maxBytes: this.opts.maxFrameBytes });
    } catch (err) {
      const message = (err as Error).message;
      this.opts.observer?.updateRejected?.('frame');
      this.sendError(session, 'bad_frame', message);
      return this.enqueue(() =>
        this.audit('frame.rejected', session.bankId, { reason: message, bytes: bytes.byteLength }),
      );
    }
    const msg = decoded.msg;
    switch (msg.type) {
      case 'heartbeat':
        return Promise.resolve();
      case 'hello':
        this.sendError(session, 'unexpected_hello', 'already authenticated on this connection');
        return Promise.resolve();
      case 'error':
        this.opts.logger.warn(
          { bankId: session.bankId, code: msg.code, message: msg.message },
          'bank reported an error',
        );
        return Promise.resolve();
      case 'decline':
        return this.enqueue(async () => {
          // A participant's decline (e.g. of the evaluation) does not make it rejected.
          if (
            this.active &&
            msg.roundId === this.active.state.roundId &&
            !this.active.state.accepted.includes(session.bankId)
          ) {
            this.active.record.banks[session.bankId] = {
              ...this.bankRound(session.bankId),
              rejected: `declined: ${msg.reason}`,
            };
            const st = this.statsOf(session.bankId);
            st.rejections = [
              ...st.rejections,
              { roundId: msg.roundId, reason: `declined: ${msg.reason}`, at: this.opts.clock.now() },
            ].slice(-20);
            await this.audit('round.declined', session.bankId, { roundId: msg.roundId, reason: msg.reason });
            await this.lose(session.bankId, `declined: ${msg.reason}`);
          } else if (this.active && msg.roundId === this.active.state.roundId) {
            // A participant declining to evaluate: do not wait for it.
            await this.lose(session.bankId, `declined: ${msg.reason}`);
          }
        });
      case 'update':
        return this.enqueue(() => this.onUpdate(session, msg, decoded.tensors, bytes.byteLength));
      case 'evaluation':
        return this.enqueue(() => this.onEvaluation(session, msg, bytes.byteLength));
    }
  }

  private sendError(session: BankSession, code: string, message: string, roundId?: number): void {
    session.send(
      encodeFrame({
        type: 'error',
        code,
        message: message.slice(0, 2000),
        ...(roundId !== undefined ? { roundId } : {}),
      }),
    );
  }

  private async rejectUpdate(session: BankSession, msg: Update, reason: string, loseFromRound: boolean): Promise<void> {
    const now = this.opts.clock.now();
    session.send(encodeFrame({ type: 'ack', roundId: msg.roundId, of: 'update', accepted: false, reason }));
    this.opts.observer?.updateRejected?.(reasonCode(reason));
    const st = this.statsOf(session.bankId);
    st.rejections = [...st.rejections, { roundId: msg.roundId, reason, at: now }].slice(-20);
    const active = this.active;
    if (active && msg.roundId === active.state.roundId && !active.state.accepted.includes(session.bankId)) {
      active.record.banks[session.bankId] = { ...this.bankRound(session.bankId), rejected: reason };
    }
    await this.audit('update.rejected', session.bankId, { roundId: msg.roundId, reason });
    this.opts.logger.warn({ bankId: session.bankId, roundId: msg.roundId, reason }, 'update rejected');
    if (loseFromRound) await this.lose(session.bankId, `update rejected: ${reason}`);
    await this.publishBank(session.bankId);
  }

  private async onUpdate(
    session: BankSession,
    msg: Update,
    tensors: Map<string, { data: Float32Array; shape: number[] }>,
    size: number,
  ): Promise<void> {
    const now = this.opts.clock.now();
    const round = this.active;
    if (!round)
      return this.rejectUpdate(session, msg, `late: no round is running (update for round ${msg.roundId})`, false);
    const verdict = machine.judgeUpdate(round.state, session.bankId, msg.roundId, msg.modelVersion, now);
    if (!verdict.accepted) return this.rejectUpdate(session, msg, verdict.reason, false);
    const stats = this.bankRound(session.bankId);
    stats.bytesUp += size;
    round.record.banks[session.bankId] = stats;
    const tensor = tensors.get('update');
    const manifest = manifestFor(this.opts.spec);
    const expected = manifest.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    if (!tensor || tensor.data.length !== expected || tensors.size !== 1) {
      const got = tensor ? `${tensor.data.length} values` : `tensors [${[...tensors.keys()].join(', ')}]`;
      return this.rejectUpdate(
        session,
        msg,
        `wrong weights: expected one tensor "update" with ${expected} values, got ${got}`,
        true,
      );
    }
    if (msg.kind !== 'delta')
      return this.rejectUpdate(session, msg, `wrong weights: kind "${msg.kind}" is not supported, send a delta`, true);
    if (msg.numExamples > session.hello.numExamples) {
      const reason = `numExamples ${msg.numExamples} exceeds the ${session.hello.numExamples} training examples this bank declared when it joined`;
      return this.rejectUpdate(session, msg, reason, true);
    }
    if (msg.numTrained > MAX_TRAINED_PER_EXAMPLE * msg.numExamples) {
      const reason = `numTrained ${msg.numTrained} exceeds ${MAX_TRAINED_PER_EXAMPLE} × numExamples ${msg.numExamples} (SMOTE at most doubles a bank's rows)`;
      return this.rejectUpdate(session, msg, reason, true);
    }
    if (msg.loss > 1e6) return this.rejectUpdate(session, msg, `loss ${msg.loss} is out of range`, true);
    const norm = l2Norm(tensor.data);
    const maxNorm = (round.record.config.rules as RoundRules).maxUpdateNorm;
    if (!(norm <= maxNorm)) {
      return this.rejectUpdate(
        session,
        msg,
        `update norm ${norm.toPrecision(4)} exceeds maxUpdateNorm ${maxNorm}`,
        true,
      );
    }
    const requiredDp = round.config.dp;
    if (
      requiredDp &&
      requiredDp.noiseMultiplier > 0 &&
      (!msg.dp || msg.dp.noiseMultiplier < requiredDp.noiseMultiplier)
    ) {
      const declared = msg.dp ? msg.dp.noiseMultiplier : 'none';
      const reason = `differential privacy required: noise multiplier ≥ ${requiredDp.noiseMultiplier}, update declared ${declared}`;
      return this.rejectUpdate(session, msg, reason, true);
    }
    try {
      round.aggregation.add({
        bankId: session.bankId,
        delta: tensor.data,
        numExamples: msg.numExamples,
        // Rows trained after SMOTE: step normalisation counts the bank's local steps from them.
        numTrained: msg.numTrained,
        loss: msg.loss,
      });
    } catch (err) {
      return this.rejectUpdate(session, msg, `wrong weights: ${(err as Error).message}`, true);
    }
    const epsilon = msg.dp
      ? this.ledger.record(
          session.bankId,
          msg.dp.noiseMultiplier,
          round.config.dp?.delta ?? session.hello.dp?.delta ?? 1e-5,
        )
      : undefined;
    // Persisted at once: privacy spent is spent, whatever happens to the round.
    if (msg.dp) await this.ledger.save();
    round.record.banks[session.bankId] = {
      ...stats,
      numExamples: msg.numExamples,
      loss: msg.loss,
      trainMs: msg.timings.trainMs,
      updateBytes: size,
      ...(epsilon !== undefined ? { epsilon } : {}),
    };
    const st = this.statsOf(session.bankId);
    st.lastUpdateBytes = size;
    session.send(encodeFrame({ type: 'ack', roundId: msg.roundId, of: 'update', accepted: true }));
    await this.audit('update.accepted', session.bankId, {
      roundId: msg.roundId,
      numExamples: msg.numExamples,
      bytes: size,
      dp: msg.dp ?? null,
    });
    this.opts.logger.info(
      { bankId: session.bankId, roundId: msg.roundId, numExamples: msg.numExamples, loss: msg.loss },
      'update accepted',
    );
    await this.apply(machine.updateAccepted(round.state, session.bankId, now));
    this.publishProgress();
  }

  private async onEvaluation(session: BankSession, msg: EvaluationResult, size: number): Promise<void> {
    const round = this.active;
    const reject = (reason: string) => {
      session.send(encodeFrame({ type: 'ack', roundId: msg.roundId, of: 'evaluation', accepted: false, reason }));
    };
    if (!round) return reject(`late: no round is running (evaluation for round ${msg.roundId})`);
    const verdict = machine.judgeEvaluation(round.state, session.bankId, msg.roundId);
    if (!verdict.accepted) return reject(verdict.reason);
    if (msg.histogram.bins !== round.evaluation.bins)
      return reject(`histogram has ${msg.histogram.bins} bins, expected ${round.evaluation.bins}`);
    const declared = session.hello.numTestExamples;
    const counted = msg.confusion.tp + msg.confusion.fp + msg.confusion.tn + msg.confusion.fn;
    if ((declared !== undefined && msg.numExamples > declared) || counted !== msg.numExamples || msg.loss > 1e6) {
      return reject(
        `evaluation counts are inconsistent: ${msg.numExamples} examples, ${counted} in the confusion counts, ${declared ?? 'unknown'} declared at join`,
      );
    }
    const stats = this.bankRound(session.bankId);
    stats.bytesUp += size;
    const prf = precisionRecallF1(msg.confusion);
    stats.metrics = { ...prf, auprc: auprcFromHistogram(msg.histogram), loss: msg.loss, numExamples: msg.numExamples };
    round.record.banks[session.bankId] = stats;
    round.reports.push({
      bankId: session.bankId,
      numExamples: msg.numExamples,
      confusion: msg.confusion,
      histogram: msg.histogram,
      loss: msg.loss,
    });
    session.send(encodeFrame({ type: 'ack', roundId: msg.roundId, of: 'evaluation', accepted: true }));
    await this.apply(machine.evaluationAccepted(round.state, session.bankId, this.opts.clock.now()));
    this.publishProgress();
  }

  // ------------------------------------------------------------------ rounds

  private statsOf(bankId: string) {
    let s = this.bankStats.get(bankId);
    if (!s) {
      s = { rounds: 0, lastUpdateBytes: null, rejections: [] };
      this.bankStats.set(bankId, s);
    }
    return s;
  }

  private bankRound(bankId: string) {
    const r = this.active?.record.banks[bankId];
    return r ? { ...r } : { bytesUp: 0, bytesDown: 0 };
  }

  private scheduleStart(delayMs: number): void {
    if (this.closed) return;
    this.opts.clock.clearTimeout(this.startTimer);
    this.startTimer = this.opts.clock.setTimeout(() => void this.enqueue(() => this.maybeStartRound()), delayMs);
  }

  private candidates(): BankCandidate[] {
    const excludeUnhealthy = this.settings.rules.excludeUnhealthyBanks;
    return [...this.sessions.values()]
      .filter((s) => !(excludeUnhealthy && this.health.get(s.bankId)?.status === 'warning'))
      .map((s) => ({
        bankId: s.bankId,
        numExamples: s.hello.numExamples,
        ...(s.hello.numTestExamples !== undefined ? { numTestExamples: s.hello.numTestExamples } : {}),
      }));
  }

  private async maybeStartRound(): Promise<void> {
    if (this.closed || this.state !== 'running' || this.active) return;
    const { rules, training } = this.settings;
    if (rules.rounds > 0 && this.roundsCompleted >= rules.rounds) {
      await this.setState('finished');
      this.opts.logger.info(
        { rounds: this.roundsCompleted, modelVersion: this.globalVersion },
        'training finished: all configured rounds are committed',
      );
      return;
    }
    let candidates = this.candidates();
    const budget = training.dp?.epsilonBudget;
    if (budget !== undefined && training.dp) {
      const dp = training.dp;
      const over = candidates.filter((c) => this.ledger.wouldExceed(c.bankId, dp.noiseMultiplier, dp.delta, budget));
      if (over.length > 0) {
        if (rules.privacyBudgetAction === 'stop-training') {
          await this.audit('training.control', 'system', {
            action: 'stop',
            reason: `privacy budget ε=${budget} would be exceeded by ${over.map((c) => c.bankId).join(', ')}`,
          });
          await this.setState('stopped');
          return;
        }
        candidates = candidates.filter((c) => !over.includes(c));
        if (candidates.length < rules.minBanks) {
          // Waiting cannot help: these banks' budgets only ever grow. Say so and stop.
          const reason = `privacy budget ε=${budget} would be exceeded by ${over.map((c) => c.bankId).join(', ')}; only ${candidates.length} bank(s) left, ${rules.minBanks} needed`;
          await this.audit('training.control', 'system', { action: 'stop', reason });
          this.opts.logger.warn({ reason }, 'training stopped');
          await this.setState('stopped');
          return;
        }
      }
    }
    if (candidates.length < rules.minBanks) {
      this.publishStatus();
      return; // Waiting for banks is not part of a round; attach() retries.
    }
    await this.ensureScaler(candidates);
    const roundId = this.nextRoundId++;
    const ctx = { roundId, global: this.globalWeights, config: training, rng: this.rng.fork() };
    const strategy = this.currentStrategy();
    const instructions = strategy.configureFit(ctx, candidates, rules.fraction, rules.minBanks);
    const selected = instructions.map((i) => i.bankId);
    const selectedCandidates = candidates.filter((c) => selected.includes(c.bankId));
    const now = this.opts.clock.now();
    const t = machine.startRound(roundId, this.globalVersion, selected, rules, now);
    this.active = {
      state: t.state,
      config: training,
      aggregation: strategy.beginAggregation({ ...ctx, rng: this.rng.fork() }, selectedCandidates),
      strategy,
      candidate: null,
      reports: [],
      savedPhase: null,
      evaluation: { threshold: rules.threshold, bins: rules.histogramBins },
      record: {
        id: roundId,
        status: t.state.phase,
        startedAt: now,
        endedAt: null,
        config: { training, rules, strategy: strategy.name, parameters: this.globalWeights.length },
        selected,
        participants: [],
        banks: Object.fromEntries(selected.map((b) => [b, { bytesUp: 0, bytesDown: 0 }])),
        durations: {},
        baseModelVersion: this.globalVersion,
        modelVersion: null,
        metrics: null,
        failureReason: null,
      },
    };
    this.opts.logger.info({ roundId, selected }, 'round started');
    await this.apply(t);
  }

  /**
   * The strategy for the settings in force. It is kept across rounds (strategies may hold
   * state, e.g. server momentum) and rebuilt only when the settings it depends on change.
   */
  private currentStrategy(): Strategy {
    const key = JSON.stringify(strategySpec(this.settings.rules));
    if (!this.strategy || key !== this.strategyKey) {
      this.strategy = this.opts.makeStrategy(this.settings);
      this.strategyKey = key;
    }
    return this.strategy;
  }

  /** The scaler is fixed before the first round from the banks connected then. */
  private async ensureScaler(candidates: BankCandidate[]): Promise<Scaler> {
    if (this.scaler) return this.scaler;
    const stats = candidates.map((c) => this.sessions.get(c.bankId)?.hello.featureStats).filter((s) => s !== undefined);
    const { scaler, banks } = globalScaler(stats, this.opts.spec.inputSize);
    this.scaler = scaler;
    await this.opts.store.setSetting('scaler', scaler);
    await this.audit('scaler.fixed', 'system', { banks, examples: stats.reduce((n, s) => n + s.count, 0) });
    for (const id of this.sessions.keys()) await this.assessHealth(id);
    return scaler;
  }

  /**
   * Re-fixes the global scaler from the statistics of the banks connected now (optionally
   * leaving some out), between rounds, as an audited admin action. For a consortium whose
   * scaler was fixed from unrepresentative banks (or poisoned statistics). The model keeps
   * its weights, so expect a few rounds of re-adaptation.
   */
  refitScaler(actor = 'admin', exclude: readonly string[] = []): Promise<{ banks: string[] }> {
    return this.enqueue(async () => {
      if (this.active)
        throw new ControlRefused(`round ${this.active.record.id} is in flight; re-fix the scaler between rounds`);
      const used = [...this.sessions.values()].filter((s) => !exclude.includes(s.bankId) && s.hello.featureStats);
      if (used.length === 0) throw new ControlRefused('no connected bank has sent feature statistics');
      const before = this.scaler;
      const { scaler } = globalScaler(
        used.map((s) => s.hello.featureStats!),
        this.opts.spec.inputSize,
      );
      this.scaler = scaler;
      await this.opts.store.setSetting('scaler', scaler);
      const banks = used.map((s) => s.bankId);
      await this.audit('scaler.refit', actor, { banks, excluded: [...exclude], hadScaler: before !== null });
      this.opts.logger.warn({ banks, excluded: exclude }, 'global scaler re-fixed by an admin');
      for (const id of this.sessions.keys()) await this.assessHealth(id);
      return { banks };
    });
  }

  /** Re-assesses one bank; a change of status is logged and audited, and the dashboard told. */
  private async assessHealth(bankId: string): Promise<void> {
    const session = this.sessions.get(bankId);
    if (!session) return;
    const last = this.lastLosses;
    const mine = last.get(bankId);
    const others = [...last].filter(([b]) => b !== bankId).map(([, l]) => l);
    const h = assessBank(session.hello.featureStats, this.scaler, mine, others);
    const before = this.health.get(bankId);
    this.health.set(bankId, h);
    if (
      (before?.status ?? 'ok') !== h.status ||
      (h.status === 'warning' && before?.reasons.join() !== h.reasons.join())
    ) {
      await this.audit('bank.health', bankId, { status: h.status, reasons: h.reasons });
      if (h.status === 'warning')
        this.opts.logger.warn({ bankId, reasons: h.reasons }, 'bank data looks unlike the consortium');
      await this.publishBank(bankId);
    }
  }
  /** Training losses of the last committed round, per bank (for the health check). */
  private lastLosses = new Map<string, number>();

  /** Carries out a transition's effects, persists the round, and re-arms the timer. */
  private async apply(t: machine.Transition): Promise<void> {
    const round = this.active;
    if (!round) return;
    round.state = t.state;
    for (const effect of t.effects) {
      if (!this.active) break;
      switch (effect.type) {
        case 'send_assignments':
          this.sendAssignments(round, effect.bankIds, effect.deadline);
          break;
        case 'aggregate':
          await this.aggregate(round);
          return; // aggregate() applies its own transition
        case 'request_evaluations':
          this.requestEvaluations(round, effect.bankIds, effect.deadline);
          break;
        case 'commit':
          await this.commit(round);
          return;
        case 'fail':
          await this.failRound(round, effect.reason);
          return;
      }
    }
    round.record.status = round.state.phase;
    // Persist and publish on phase changes only. Saving the whole record after every
    // update made a round with n banks cost O(n²); an unfinished round is marked failed
    // after a crash anyway, so its per-update progress needs no durability.
    if (round.savedPhase !== round.state.phase) {
      await this.opts.store.saveRound(round.record);
      round.savedPhase = round.state.phase;
      this.publishRound(round.record);
      this.publishStatus();
    }
    this.armTimer();
  }

  private armTimer(): void {
    this.opts.clock.clearTimeout(this.roundTimer);
    if (this.closed) return;
    const round = this.active;
    if (!round) return;
    const at = machine.wakeAt(round.state);
    if (at === null) return;
    const delay = Math.max(0, at - this.opts.clock.now()) + 1;
    this.roundTimer = this.opts.clock.setTimeout(() => {
      void this.enqueue(async () => {
        if (this.active === round) await this.apply(machine.tick(round.state, this.opts.clock.now()));
      });
    }, delay);
  }

  private sendAssignments(round: ActiveRound, bankIds: string[], deadline: number): void {
    for (const bankId of bankIds) {
      const session = this.sessions.get(bankId);
      if (!session) continue;
      const frame = encodeFrame(
        {
          type: 'round_assignment',
          roundId: round.state.roundId,
          modelVersion: this.globalVersion,
          deadlineInMs: Math.max(0, deadline - this.opts.clock.now()),
          config: round.config,
          scaler: this.scaler!,
        },
        [{ name: 'global', shape: [this.globalWeights.length], data: this.globalWeights }],
      );
      this.countDown(round, bankId, session.send(frame));
    }
  }

  private countDown(round: ActiveRound, bankId: string, n: number): void {
    const stats = round.record.banks[bankId] ?? { bytesUp: 0, bytesDown: 0 };
    stats.bytesDown += n;
    round.record.banks[bankId] = stats;
    this.opts.observer?.bytes?.('down', n);
  }

  private async aggregate(round: ActiveRound): Promise<void> {
    const started = performance.now();
    let outcome;
    try {
      outcome = round.aggregation.finish();
    } catch (err) {
      return this.apply(
        machine.aggregationFailed(round.state, `aggregation failed: ${(err as Error).message}`, this.opts.clock.now()),
      );
    }
    const ms = performance.now() - started;
    this.opts.observer?.aggregationMs?.(ms);
    const bad = outcome.weights.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      // Finite updates can still overflow float32 when added to the model.
      return this.apply(
        machine.aggregationFailed(
          round.state,
          `aggregation produced a non-finite weight at index ${bad}; the updates are out of range`,
          this.opts.clock.now(),
        ),
      );
    }
    round.candidate = outcome.weights;
    round.record.participants = Object.keys(outcome.bankWeights);
    for (const [bankId, weight] of Object.entries(outcome.bankWeights)) {
      round.record.banks[bankId] = { ...(round.record.banks[bankId] ?? { bytesUp: 0, bytesDown: 0 }), weight };
    }
    round.record.metrics = { trainLoss: outcome.meanLoss, participants: outcome.numContributors };
    const ctx = {
      roundId: round.state.roundId,
      global: this.globalWeights,
      config: round.config,
      rng: this.rng.fork(),
    };
    const evaluators = round.strategy
      .configureEvaluate(ctx, round.record.participants, this.candidates())
      .filter((b) => this.sessions.has(b));
    await this.apply(machine.aggregated(round.state, evaluators, this.opts.clock.now()));
  }

  private requestEvaluations(round: ActiveRound, bankIds: string[], deadline: number): void {
    const weights = round.candidate!;
    const frame = encodeFrame(
      {
        type: 'evaluation_request',
        roundId: round.state.roundId,
        modelVersion: this.globalVersion + 1,
        deadlineInMs: Math.max(0, deadline - this.opts.clock.now()),
        threshold: round.evaluation.threshold,
        histogramBins: round.evaluation.bins,
        scaler: this.scaler!,
      },
      [{ name: 'global', shape: [weights.length], data: weights }],
    );
    for (const bankId of bankIds) {
      const session = this.sessions.get(bankId);
      if (session) this.countDown(round, bankId, session.send(frame));
    }
  }

  private durations(round: ActiveRound, end: number): RoundRecord['durations'] {
    const p = round.state.phaseTimes;
    const d: RoundRecord['durations'] = { totalMs: end - round.state.startedAt };
    if (p.training !== undefined) d.trainingMs = (p.aggregating ?? p.failed ?? end) - p.training;
    if (p.aggregating !== undefined) d.aggregationMs = (p.evaluating ?? p.committed ?? end) - p.aggregating;
    if (p.evaluating !== undefined) d.evaluationMs = (p.committed ?? end) - p.evaluating;
    return d;
  }

  private async commit(round: ActiveRound): Promise<void> {
    const now = this.opts.clock.now();
    const weights = round.candidate!;
    const version = this.globalVersion + 1;
    const record = round.record;
    if (round.reports.length > 0) {
      const g = globalMetrics(round.reports);
      record.metrics = {
        ...record.metrics,
        precision: g.precision,
        recall: g.recall,
        f1: g.f1,
        auprc: g.auprc,
        rocAuc: g.rocAuc,
        loss: g.loss,
        evalExamples: g.numExamples,
        tp: g.tp,
        fp: g.fp,
        tn: g.tn,
        fn: g.fn,
      };
    }
    record.metrics = this.finiteMetrics(record.metrics);
    // Count the commit broadcast into this round before persisting it.
    const frame = encodeFrame(
      {
        type: 'round_committed',
        roundId: record.id,
        modelVersion: version,
        scaler: this.scaler!,
        ...(record.metrics ? { metrics: record.metrics } : {}),
      },
      [{ name: 'global', shape: [weights.length], data: weights }],
    );
    for (const s of this.sessions.values()) {
      const stats = record.banks[s.bankId] ?? { bytesUp: 0, bytesDown: 0 };
      stats.bytesDown += frame.byteLength;
      record.banks[s.bankId] = stats;
    }
    this.markMissing(round);
    // The in-memory record says "committed" only once the store has the round and its model.
    const committed: RoundRecord = {
      ...record,
      status: 'committed',
      endedAt: now,
      modelVersion: version,
      durations: this.durations(round, now),
    };
    await this.opts.store.commitRound(committed, {
      version,
      roundId: record.id,
      createdAt: now,
      sha256: weightsSha256(weights),
      weights,
      spec: { ...this.opts.spec },
    });
    Object.assign(record, committed);
    this.globalVersion = version;
    this.globalWeights = weights;
    await this.ledger.save();
    this.roundsCompleted++;
    for (const b of record.participants) this.statsOf(b).rounds++;
    this.lastLosses = new Map(
      record.participants.flatMap((b) => {
        const l = record.banks[b]?.loss;
        return l === undefined ? [] : [[b, l] as [string, number]];
      }),
    );
    for (const b of record.participants) await this.assessHealth(b);
    for (const s of this.sessions.values()) {
      s.send(frame);
      this.opts.observer?.bytes?.('down', frame.byteLength);
    }
    await this.audit('round.committed', 'system', {
      roundId: record.id,
      modelVersion: version,
      participants: record.participants,
      weights: Object.fromEntries(record.participants.map((b) => [b, record.banks[b]?.weight ?? 0])),
      metrics: record.metrics,
    });
    this.opts.logger.info({ roundId: record.id, modelVersion: version, metrics: record.metrics }, 'round committed');
    await this.finishRound(round);
  }

  /** Selected banks that did not contribute get the reason stored with the round. */
  private finiteMetrics(m: Record<string, number> | null): Record<string, number> | null {
    if (!m) return null;
    return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
  }

  private markMissing(round: ActiveRound): void {
    for (const b of round.record.selected) {
      const st = round.record.banks[b];
      if (st && !st.rejected && !round.state.accepted.includes(b)) {
        st.rejected = round.state.missing[b] ?? 'no update before the fit stage closed';
        const stats = this.statsOf(b);
        stats.rejections = [
          ...stats.rejections,
          { roundId: round.record.id, reason: st.rejected, at: this.opts.clock.now() },
        ].slice(-20);
      }
    }
  }

  private async failRound(round: ActiveRound, reason: string): Promise<void> {
    const now = this.opts.clock.now();
    const record = round.record;
    record.status = 'failed';
    record.endedAt = now;
    record.failureReason = reason;
    record.durations = this.durations(round, now);
    this.markMissing(round);
    await this.opts.store.saveRound(record);
    this.roundsFailed++;
    const frame = encodeFrame({ type: 'round_failed', roundId: record.id, reason: reason.slice(0, 500) });
    for (const b of record.selected) this.sessions.get(b)?.send(frame);
    await this.audit('round.failed', 'system', { roundId: record.id, reason });
    this.opts.logger.warn({ roundId: record.id, reason }, 'round failed');
    await this.finishRound(round);
  }

  private async finishRound(round: ActiveRound): Promise<void> {
    this.opts.clock.clearTimeout(this.roundTimer);
    this.active = null;
    this.opts.observer?.roundFinished?.(round.record);
    this.publishRound(round.record);
    for (const b of new Set([...round.record.selected, ...Object.keys(round.record.banks)])) await this.publishBank(b);
    this.publishStatus();
    this.scheduleStart(this.settings.rules.roundIntervalMs);
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
    actor = 'admin',
    opts: { additionalRounds?: number } = {},
  ): Promise<TrainingState> {
    return this.enqueue(async () => {
      if (action === 'start') {
        const { rules } = this.settings;
        const done = rules.rounds > 0 && this.roundsCompleted >= rules.rounds;
        if (opts.additionalRounds !== undefined) {
          const before = this.settings;
          const next = {
            ...before,
            rules: { ...before.rules, rounds: this.roundsCompleted + opts.additionalRounds },
          };
          this.settings = next;
          await this.opts.store.setSetting('federation', next);
          await this.audit('config.changed', actor, {
            before: { rules: { rounds: before.rules.rounds } },
            after: { rules: { rounds: next.rules.rounds } },
            reason: `start with ${opts.additionalRounds} more round(s)`,
          });
        } else if (done) {
          throw new ControlRefused(
            `training is finished: all ${rules.rounds} configured rounds are committed (global model v${this.globalVersion}); ` +
              'start again with additionalRounds (the number of rounds to add) or raise rules.rounds',
          );
        }
      }
      await this.audit('training.control', actor, { action, ...opts });
      if (action === 'start') {
        await this.setState('running');
        this.scheduleStart(0);
      } else if (action === 'pause') {
        // The running round finishes; no new round starts.
        await this.setState('paused');
      } else {
        await this.setState('stopped');
        if (this.active)
          await this.apply(machine.abortRound(this.active.state, 'stopped by admin', this.opts.clock.now()));
      }
      return this.state;
    });
  }

  /**
   * Makes a stored model version the global model again. The weights are stored once more as a
   * new version (versions only grow, so every bank and every stored round keeps meaning what it
   * meant), checked against their stored sha256 first, and the change is an audit entry. Refused
   * while a round is in flight (its update would be computed from the model being replaced).
   */
  rollback(version: number, actor = 'admin'): Promise<{ version: number; restoredFrom: number }> {
    return this.enqueue(async () => {
      if (this.active)
        throw new ControlRefused(
          `round ${this.active.record.id} is in flight; pause training and roll back when it has ended`,
        );
      const model = await this.opts.store.getModel(version);
      if (!model) throw new NotFound(`model version ${version} does not exist`);
      if (weightsSha256(model.weights) !== model.sha256)
        throw new Error(`stored model v${version} does not match its sha256; the store is damaged`);
      const mismatch = specMismatch(model.spec, this.opts.spec);
      if (mismatch) throw new ControlRefused(`model v${version} has another architecture (${mismatch} differs)`);
      const previous = this.globalVersion;
      const next = previous + 1;
      await this.opts.store.saveModel({
        version: next,
        roundId: null,
        createdAt: this.opts.clock.now(),
        sha256: model.sha256,
        weights: model.weights,
        spec: { ...this.opts.spec },
      });
      this.globalVersion = next;
      this.globalWeights = model.weights;
      await this.audit('model.rolled_back', actor, { restoredFrom: version, previous, newVersion: next });
      this.opts.logger.warn({ restoredFrom: version, previous, newVersion: next }, 'global model rolled back');
      this.publishStatus();
      return { version: next, restoredFrom: version };
    });
  }

  getSettings(): FederationSettings {
    return this.settings;
  }

  /** Applies a change computed from the current settings (or returns the validation error). */
  updateSettings(
    change: (current: FederationSettings) => FederationSettings | Error,
    actor = 'admin',
  ): Promise<FederationSettings | Error> {
    return this.enqueue(async () => {
      const before = this.settings;
      const next = change(before);
      if (next instanceof Error) return next;
      this.settings = next;
      await this.opts.store.setSetting('federation', next);
      await this.audit('config.changed', actor, { before, after: next });
      this.scheduleStart(0);
      return next;
    });
  }

  private async setState(state: TrainingState): Promise<void> {
    this.state = state;
    await this.opts.store.setSetting('trainingState', state);
    this.publishStatus();
  }

  status(): StatusView {
    const a = this.active;
    return {
      state: this.state,
      currentRound: a ? { id: a.state.roundId, phase: a.state.phase, progress: this.progress(a.state) } : null,
      modelVersion: this.globalVersion,
      connectedBanks: this.sessions.size,
      roundsCompleted: this.roundsCompleted,
      roundsFailed: this.roundsFailed,
      roundsConfigured: this.settings.rules.rounds,
    };
  }

  /** "k of n banks reported" for the stage in flight (fit until aggregation, then evaluation). */
  private progress(st: machine.RoundState): StageProgress {
    const now = this.opts.clock.now();
    const evaluating = st.phase === 'evaluating';
    const asked = evaluating ? st.evaluators : st.selected;
    const reported = evaluating ? st.evaluated : st.accepted;
    const closes = evaluating ? st.evaluationDeadline : machine.fitClosesAt(st);
    return {
      asked: asked.length,
      reported: reported.length,
      dropped: asked.filter((b) => st.missing[b] !== undefined && !reported.includes(b)).length,
      reportedBanks: reported.slice(0, 50),
      closesInMs: closes === null ? null : Math.max(0, closes - now),
    };
  }

  /** The current global model (version, flat weights and the scaler it expects). */
  globalModel(): { version: number; weights: Float32Array; scaler: Scaler | null } {
    return { version: this.globalVersion, weights: this.globalWeights, scaler: this.scaler };
  }

  epsilons(): Record<string, number> {
    return this.ledger.epsilons(this.settings.training.dp?.delta ?? 1e-5);
  }

  async bankView(bank: BankRecord): Promise<BankView> {
    const session = this.sessions.get(bank.id);
    const st = this.statsOf(bank.id);
    const eps = this.ledger.epsilonOf(bank.id, this.settings.training.dp?.delta ?? 1e-5);
    return {
      id: bank.id,
      name: bank.name,
      createdAt: bank.createdAt,
      lastSeenAt: session ? session.lastMessageAt : bank.lastSeenAt,
      revoked: bank.revokedAt !== null,
      connected: !!session,
      numExamples: session?.hello.numExamples ?? null,
      numTestExamples: session?.hello.numTestExamples ?? null,
      backend: session?.hello.backend ?? null,
      roundsParticipated: st.rounds,
      lastUpdateBytes: st.lastUpdateBytes,
      epsilon: eps,
      epsilonBudget: session?.hello.dp?.epsilonBudget ?? this.settings.training.dp?.epsilonBudget ?? null,
      rejections: st.rejections,
      health: this.health.get(bank.id) ?? null,
      lastRefusal: session ? null : (this.refusals[bank.id] ?? null),
    };
  }

  async audit(type: string, actor: string, details: Record<string, unknown>): Promise<void> {
    const entry = await this.opts.store.appendAudit({ at: this.opts.clock.now(), type, actor, details });
    this.opts.events.publish({ type: 'audit', entry });
  }

  private publishRound(record: RoundRecord): void {
    this.opts.events.publish({ type: 'round', round: structuredClone(record) });
  }

  private publishStatus(): void {
    this.opts.events.publish({ type: 'status', status: this.status() });
  }

  /**
   * Live "k of n banks reported". Published at most every 250 ms of the aggregator's clock, so a
   * round with thousands of banks does not publish thousands of status events.
   */
  private lastProgressAt = -Infinity;
  private publishProgress(): void {
    if (this.opts.events.size === 0 || !this.active) return;
    const now = this.opts.clock.now();
    const st = this.active.state;
    const last =
      st.phase === 'evaluating'
        ? st.evaluated.length === st.evaluators.length
        : st.accepted.length === st.selected.length;
    if (!last && now - this.lastProgressAt < 250) return;
    this.lastProgressAt = now;
    this.publishStatus();
  }

  private async publishBank(bankId: string): Promise<void> {
    if (this.opts.events.size === 0) return;
    const bank = await this.opts.store.getBank(bankId);
    if (bank) this.opts.events.publish({ type: 'bank', bank: await this.bankView(bank) });
  }
}
