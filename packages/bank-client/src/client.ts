/**
 * The bank-client daemon: keeps one WebSocket to the aggregator, answers fit and
 * evaluate tasks with its local data, and reconnects with exponential backoff and
 * jitter when the connection drops. Training yields to the event loop every few
 * batches so heartbeats keep flowing. Results are tied to the connection and round
 * they were computed for: an update that cannot be delivered in time for its own
 * round is dropped, never sent into a later one.
 *
 * This file is the daemon's connection policy (when to try again, what a close means) and the
 * dispatch of frames. One attempt's socket, its failure cause and the backoff are in
 * connection.ts, the hello in hello.ts, a round's fit and evaluation tasks (and the
 * secure-aggregation wiring) in round-tasks.ts, what the bank computes in local-model.ts
 * (training, evaluation, DP, kept models), the update's offer and upload in update-upload.ts,
 * secure aggregation in secagg/ and analytics jobs in analytics/.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  CloseCode,
  decodeFrame,
  encodeFrame,
  FederationServerMessage,
  type FederationClientMessage,
  type SecAggServerMessage,
  type TensorInput,
  type RoundCommitted,
  type Welcome,
} from '@finsecure/common/protocol';
import { initBackend, parseBackendPreference, type BackendInfo } from '@finsecure/common/model';
import { createRng, cryptoRng, type Rng } from '@finsecure/common/rng';
import type { BankConfig } from './config.js';
import { ScaledData, type LocalData } from './local-data.js';
import { LocalPrivacyLedger } from './privacy.js';
import { AuditHeadLog } from './audit-heads.js';
import { helloOf } from './hello.js';
import { LocalModel } from './local-model.js';
import { UpdateUpload } from './update-upload.js';
import { runEvaluation, runFit, secureFit, sendGranted, type RoundTaskHost, type Task } from './round-tasks.js';
import { standsInForBeat, startHeartbeat, type RunningHeartbeat } from './heartbeat.js';
import { loadOrCreateIdentity, PinnedIdentities } from './secagg/identity.js';
import type { SecureFit } from './secagg/secure-fit.js';
import { requireOpenedState } from './state-crypto/index.js';
import { FeedbackHistoryFile, FeedbackSource, type FeedbackRead } from './feedback.js';
import type { IdentityKeyPair } from '@finsecure/common/secagg';
import { bankAnalytics, type AnalyticsWorker } from './analytics/worker.js';
import { WorkQueue } from './work-queue.js';
import { FailureLog, formatDelay, pathNote, shownUrl, type ConnectFailure } from './connect-failure.js';
import { Backoff, MAX_SERVER_FRAME_BYTES, openAttempt } from './connection.js';
import { outwardFailure } from './outward.js';

export interface BankClientEvents {
  welcome: [Welcome];
  update_sent: [{ roundId: number; bytes: number }];
  /** Local training progress, every few batches: batches done of all epochs. */
  training_progress: [{ roundId: number; done: number; total: number }];
  update_dropped: [{ roundId: number; reason: string }];
  evaluation_sent: [{ roundId: number }];
  /** The analysts' confirmed labels read for a round's training (feedback.ts). */
  feedback: [{ roundId: number | null } & FeedbackRead];
  committed: [{ roundId: number; modelVersion: number }];
  rejected: [{ roundId: number; reason: string }];
  disconnected: [{ code: number; reason: string }];
  fatal: [Error];
}

export class BankClient extends EventEmitter<BankClientEvents> {
  private ws: WebSocket | null = null;
  private connection = 0;
  /** Delays between attempts (connection.ts). */
  private readonly backoff: Backoff;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** The connection the aggregator welcomed last: a close of any other is a failed attempt. */
  private joinedConnection = 0;
  /** Failed attempts since the last welcome, and what was said about them (connect-failure.ts). */
  private readonly failures: FailureLog;
  /** This connection's heartbeat, from the welcome on (heartbeat.ts). */
  private heartbeat: RunningHeartbeat | null = null;
  private current: Task | null = null;
  private readonly upload: UpdateUpload;
  /** The aggregator's frame limit from its welcome: an update larger than this is declined, not sent. */
  private serverMaxFrameBytes = Number.POSITIVE_INFINITY;
  private readonly work: WorkQueue;
  private readonly scaled: ScaledData;
  private readonly feedbackHistory: FeedbackHistoryFile;
  private readonly ledger: LocalPrivacyLedger;
  /** Heads of the aggregator's audit chain seen with assignments (audit-heads.ts). */
  private readonly auditHeads: AuditHeadLog;
  /** Ed25519 identity for secure aggregation (made at first start, kept in the state dir). */
  private readonly identity: IdentityKeyPair;
  private secure: SecureFit | null = null;
  private lastFromServer = 0;
  private readonly noiseRng: Rng;
  private backend: BackendInfo | null = null;
  private readonly ca: Buffer | undefined;
  private readonly analytics: AnalyticsWorker;
  /** The bank's model and data at work: training, evaluation, DP, kept models (local-model.ts). */
  private readonly model: LocalModel;
  /** This daemon as the round tasks see it (round-tasks.ts). */
  private readonly tasks: RoundTaskHost;

  constructor(
    private readonly config: BankConfig,
    private readonly data: LocalData,
    private readonly logger: Logger,
  ) {
    super();
    // The state key is required (issue 17 item 7): the state directory must have been opened
    // with it (openBankState, `start` does so) before anything below reads or writes there.
    requireOpenedState(config.stateDir);
    // The feedback loop: labels confirmed in the bank console join each round's training.
    this.feedbackHistory = new FeedbackHistoryFile(config.stateDir);
    this.scaled = new ScaledData(
      data,
      new FeedbackSource(
        config.stateDir,
        data.transactionIds ?? new Set(),
        config.feedbackWeight ?? 3,
        undefined,
        () => data.test,
      ),
      (read) => this.onFeedbackRead(read),
    );
    this.ledger = new LocalPrivacyLedger(config.stateDir);
    this.upload = new UpdateUpload(this.ledger, logger);
    this.work = new WorkQueue(logger);
    this.auditHeads = new AuditHeadLog(config.stateDir, logger);
    this.identity = loadOrCreateIdentity(config.stateDir);
    // Not seeded: banks started together (same seed) must not reconnect in lockstep.
    this.backoff = new Backoff(config.reconnectMinMs, config.reconnectMaxMs, cryptoRng());
    // DP noise must be unpredictable in production; a seed is only for simulations.
    this.noiseRng = config.insecureDpSeed !== undefined ? createRng(config.insecureDpSeed) : cryptoRng();
    this.ca = config.caFile ? readFileSync(config.caFile) : undefined;
    this.failures = new FailureLog(logger, config.server);
    this.model = new LocalModel({
      config,
      data,
      scaled: this.scaled,
      feedbackHistory: this.feedbackHistory,
      noiseRng: this.noiseRng,
      logger,
      onProgress: (roundId, done, total) => this.emit('training_progress', { roundId, done, total }),
    });
    // Analytics jobs (segmentation, calibration): aggregates of --data only (analytics/worker.ts).
    this.analytics = bankAnalytics(config, data, this.noiseRng, this.identity, logger);
    this.tasks = {
      model: this.model,
      ledger: this.ledger,
      upload: this.upload,
      logger,
      events: this,
      send: (ws, msg, tensors) => void this.send(ws, msg, tensors),
      sendFrame: (ws, frame) => this.sendFrame(ws, frame),
      maxFrameBytes: () => this.serverMaxFrameBytes,
      connection: () => this.connection,
      stillWanted: (task) => this.stillWanted(task),
    };
  }

  async start(): Promise<void> {
    this.backend = await initBackend(parseBackendPreference(this.config.backend));
    this.logger.info({ backend: this.backend.backend, notes: this.backend.notes }, 'TF.js backend ready');
    if (this.config.insecureDpSeed !== undefined)
      this.logger.warn('DP noise uses a seeded RNG (--insecure-dp-seed): for simulations only');
    this.connect();
  }

  /**
   * Closes the connection and takes no new work: frames still arriving are ignored. Resolves once
   * the work already under way (training, evaluation, saving a committed model) has ended, so that
   * nothing writes to the state directory afterwards.
   */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.heartbeat?.stop();
    // A socket the aggregator never welcomed has nothing to close cleanly, and its peer may never
    // answer the close frame (ws would then hold it, and its welcome timer, for 30 s).
    if (this.ws && this.joinedConnection !== this.connection) this.ws.terminate();
    else this.ws?.close(1000, 'bank client stopping');
    this.ws = null;
    return this.work.settled();
  }

  /** Waits for any training or evaluation in progress (used at shutdown). */
  idle(): Promise<void> {
    return this.work.settled();
  }

  private connect(): void {
    if (this.stopped) return;
    const id = ++this.connection;
    // Secure-aggregation state belongs to one connection: a new one starts clean.
    this.secure = null;
    const server = this.config.server;
    // Retries after a failure are debug lines: the failure log (connect-failure.ts) says what matters.
    this.logger[this.failures.attempts === 0 ? 'info' : 'debug'](
      { server: shownUrl(server), attempt: this.backoff.attempts },
      'connecting',
    );
    this.ws = openAttempt(
      { server, welcomeTimeoutMs: this.config.welcomeTimeoutMs, ...(this.ca ? { ca: this.ca } : {}) },
      {
        open: (ws) => this.send(ws, helloOf(this.config, this.data, this.backend!, this.identity, this.model)),
        welcomed: () => this.joinedConnection === id,
        frame: (ws, bytes) => {
          if (this.stopped) return;
          try {
            this.onFrame(ws, id, bytes);
          } catch (err) {
            this.logger.error({ err: (err as Error).message }, 'could not handle a frame from the aggregator');
          }
        },
        error: (err) => this.logger.warn({ err: err.message }, 'connection error'),
        closed: (code, reason, failure) => this.onClose(id, code, reason, failure),
      },
    );
  }

  /** The end of a connection or of a failed attempt (`failure` says why it was never welcomed). */
  private onClose(id: number, code: number, reason: string, failure: ConnectFailure | null): void {
    if (this.connection === id) this.ws = null;
    this.heartbeat?.stop();
    this.emit('disconnected', { code, reason });
    if (this.stopped) return;
    const server = this.config.server;
    if (code === CloseCode.Replaced) {
      // Another daemon with this bank id took over: back off hard instead of fighting it.
      this.backoff.atLeast(6);
      this.logger.error(
        'another connection with this bank id replaced ours; is a second daemon running with the same id?',
      );
    }
    if (code === CloseCode.Unauthorized || code === CloseCode.Incompatible) {
      // On another path than /ws/bank the refusal may be another endpoint's (/ws/events closes
      // a bank's hello with 4001 too): say so, the fix is then --server, not the token.
      const err = new Error(`the aggregator refused this bank (${code}): ${reason}${pathNote(server)}`);
      this.logger.error(
        { code, reason, server: shownUrl(server) },
        `refused by the aggregator; not reconnecting (check the bank id, token and data)${pathNote(server)}`,
      );
      this.stopped = true;
      this.emit('fatal', err);
      return;
    }
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    if (!failure) {
      this.logger.warn({ code, reason, delayMs: delay }, 'disconnected; reconnecting');
      return;
    }
    // Ended before the welcome: a failed attempt. Every cause keeps the daemon retrying, even
    // those that look permanent (HTTP 404, a wrong path, an untrusted certificate): an aggregator
    // restarting behind a proxy answers 404 or 502 for a while, DNS and certificates get fixed
    // while the daemon runs, and a bank must rejoin by itself once they are. The ones that will
    // not fix themselves are logged at error, with what to change, and said again now and then.
    this.failures.failed(failure, delay);
  }

  private send(
    ws: WebSocket,
    msg: FederationClientMessage,
    tensors?: TensorInput[],
    encoding?: 'float32' | 'float16' | 'int8',
  ): number {
    const frame = encodeFrame(msg, tensors ?? [], encoding ? { encoding } : {});
    this.sendFrame(ws, frame, standsInForBeat(msg.type));
    return frame.byteLength;
  }

  /**
   * Sends an encoded frame if the socket is open. `standsInForBeat`: the next heartbeat may be
   * skipped for it (heartbeat.ts `standsInForBeat`).
   */
  private sendFrame(ws: WebSocket, frame: Uint8Array, standsInForBeat = true): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame, { binary: true });
    if (standsInForBeat) this.heartbeat?.sent();
  }

  private onFrame(ws: WebSocket, connection: number, bytes: Uint8Array): void {
    this.lastFromServer = Date.now();
    const { msg, tensors } = decodeFrame(bytes, FederationServerMessage, { maxBytes: MAX_SERVER_FRAME_BYTES });
    switch (msg.type) {
      case 'welcome': {
        this.backoff.reset();
        this.joinedConnection = connection;
        const before = this.failures.joined();
        this.serverMaxFrameBytes = msg.maxFrameBytes;
        this.model.ensure(msg.model);
        if (before.failedAttempts > 0)
          this.logger.info(
            {
              modelVersion: msg.modelVersion,
              server: msg.serverVersion,
              failedAttempts: before.failedAttempts,
              downMs: before.downMs,
              lastCause: before.lastCause,
            },
            `joined the federation after ${before.failedAttempts} failed connection attempt${before.failedAttempts === 1 ? '' : 's'} over ${formatDelay(before.downMs)}`,
          );
        else this.logger.info({ modelVersion: msg.modelVersion, server: msg.serverVersion }, 'joined the federation');
        this.heartbeat?.stop();
        this.heartbeat = startHeartbeat(msg.heartbeatIntervalMs, msg.heartbeatTimeoutMs, {
          lastFromServer: () => this.lastFromServer,
          beat: () => this.send(ws, { type: 'heartbeat', sentAt: Date.now() }),
          giveUp: () => {
            // A half-open TCP connection never closes by itself: give up on a silent server.
            this.logger.warn('no message from the aggregator for 4 heartbeat intervals; reconnecting');
            ws.terminate();
          },
        });
        this.emit('welcome', msg);
        return;
      }
      case 'heartbeat':
        // Not answered: the timer set at the welcome sends this bank's own heartbeat in every
        // interval it sent nothing else (heartbeat.ts), which is all the aggregator needs to see it
        // alive (an answer was a second frame per interval for it to read). Its arrival already
        // counts as word from the server.
        return;
      case 'round_assignment': {
        const global = tensors.get('global')?.data;
        if (!global) throw new Error('round assignment without a "global" tensor');
        if (msg.auditHead) this.auditHeads.record(msg.roundId, msg.auditHead);
        // The deadline on this bank's clock, from the time left the aggregator sent (never an
        // absolute time: clocks differ).
        const deadline = Date.now() + msg.deadlineInMs;
        this.current = { roundId: msg.roundId, connection, deadline };
        this.enqueueWork(
          `fit of round ${msg.roundId}`,
          () => runFit(this.tasks, ws, connection, msg, global, deadline),
          msg.roundId,
          ws,
        );
        return;
      }
      case 'evaluation_request': {
        const weights = tensors.get('global')?.data;
        if (!weights) throw new Error('evaluation request without a "global" tensor');
        this.enqueueWork(
          `evaluation of round ${msg.roundId}`,
          () => runEvaluation(this.tasks, ws, connection, msg, weights),
          msg.roundId,
          ws,
        );
        return;
      }
      case 'round_committed': {
        const weights = tensors.get('global')?.data;
        if (weights) this.enqueueWork(`saving model v${msg.modelVersion}`, () => this.saveModel(msg, weights));
        return;
      }
      case 'upload_grant':
        sendGranted(this.tasks, ws, connection, msg.roundId);
        return;
      case 'round_failed':
        if (this.current?.roundId === msg.roundId) this.current = null;
        this.upload.drop(msg.roundId);
        this.logger.warn({ roundId: msg.roundId, reason: msg.reason }, 'round failed at the aggregator');
        return;
      case 'ack':
        // A refused offer is answered like a refused update: nothing will be granted for it.
        if (!msg.accepted && msg.of === 'update') this.upload.drop(msg.roundId);
        if (!msg.accepted) {
          this.logger.warn(
            { roundId: msg.roundId, of: msg.of, reason: msg.reason },
            'the aggregator rejected our result',
          );
          this.emit('rejected', { roundId: msg.roundId, reason: msg.reason ?? '' });
        }
        return;
      case 'error':
        this.logger.warn({ code: msg.code, message: msg.message }, 'the aggregator reported an error');
        return;
      case 'analytics_request':
      case 'analytics_result':
        void this.analytics.handle(msg, (m) => this.sendFrame(ws, encodeFrame(m), standsInForBeat(m.type)));
        return;
      default:
        this.onSecAgg(ws, connection, msg, tensors);
        return;
    }
  }

  /** Secure aggregation: one SecureFit per connection; its steps run in the work queue, in order. */
  private onSecAgg(
    ws: WebSocket,
    connection: number,
    msg: SecAggServerMessage,
    tensors: ReadonlyMap<string, { data: Float32Array }>,
  ): void {
    if (msg.type === 'secagg_masked_fit') {
      if (msg.auditHead) this.auditHeads.record(msg.roundId, msg.auditHead);
      this.current = { roundId: msg.roundId, connection, deadline: Date.now() + msg.deadlineInMs };
    }
    this.secure ??= secureFit(this.tasks, ws, connection, {
      bankId: this.config.bankId,
      identity: this.identity,
      pinned: new PinnedIdentities(this.config.stateDir),
      noiseRng: this.noiseRng,
    });
    const secure = this.secure;
    this.enqueueWork(`${msg.type} of round ${msg.roundId}`, () => secure.handle(msg, tensors), msg.roundId, ws);
  }

  /** Queues local work (work-queue.ts); a round's task that fails declines the round. */
  private enqueueWork(what: string, task: () => Promise<void>, roundId?: number, ws?: WebSocket): void {
    this.work.add(
      what,
      task,
      roundId !== undefined && ws
        ? (err) => this.send(ws, { type: 'decline', roundId, reason: outwardFailure(what, err) })
        : undefined,
    );
  }

  private stillWanted(task: Task): string | null {
    if (this.connection !== task.connection || !this.ws || this.ws.readyState !== WebSocket.OPEN)
      return 'the connection it was assigned on is gone';
    if (this.current?.roundId !== task.roundId) return 'the round ended at the aggregator';
    if (Date.now() > task.deadline) return 'the round deadline passed';
    return null;
  }

  /** Labels read for training: logged, emitted, and kept in the console's feedback history. */
  private onFeedbackRead(read: FeedbackRead): void {
    const roundId = this.current?.roundId ?? null;
    if (read.labels > 0) this.logger.info({ roundId, ...read }, 'analyst labels added to the training data');
    this.emit('feedback', { roundId, ...read });
    if (roundId !== null) this.model.keepHistory(() => this.feedbackHistory.recordRound(roundId, read));
  }

  private async saveModel(msg: RoundCommitted, weights: Float32Array): Promise<void> {
    if (this.current?.roundId === msg.roundId) this.current = null;
    await this.model.save(msg, weights);
    this.emit('committed', { roundId: msg.roundId, modelVersion: msg.modelVersion });
  }
}
