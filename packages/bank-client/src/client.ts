/**
 * The bank-client daemon: keeps one WebSocket to the aggregator, answers fit and
 * evaluate tasks with its local data, and reconnects with exponential backoff and
 * jitter when the connection drops. Training yields to the event loop every few
 * batches so heartbeats keep flowing. Results are tied to the connection and round
 * they were computed for: an update that cannot be delivered in time for its own
 * round is dropped, never sent into a later one.
 *
 * This file is the daemon's connection policy (when to try again, what a close means, the
 * welcome and the heartbeat that follows it). What each frame from the aggregator sets off is in
 * frame-dispatch.ts, and the bank's side (ledger, identity, model …) is built in daemon-parts.ts.
 * One attempt's socket, its failure cause and the backoff are in connection.ts, the hello in
 * hello.ts, a round's fit and evaluation tasks (and the secure-aggregation wiring) in
 * round-tasks.ts, what the bank computes in local-model.ts (training, evaluation, DP, kept
 * models), the update's offer and upload in update-upload.ts, secure aggregation in secagg/ and
 * analytics jobs in analytics/.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  CloseCode,
  encodeFrame,
  type FederationClientMessage,
  type TensorInput,
  type Welcome,
} from '@finsecure/common/protocol';
import { initBackend, parseBackendPreference, type BackendInfo } from '@finsecure/common/model';
import { cryptoRng } from '@finsecure/common/rng';
import type { BankConfig } from './config/index.js';
import type { LocalData } from './local-data.js';
import { helloOf } from './hello.js';
import type { RoundTaskHost, Task } from './round-tasks.js';
import { standsInForBeat, startHeartbeat, type RunningHeartbeat } from './heartbeat.js';
import { requireOpenedState } from './state-crypto/index.js';
import type { BankClientEvents } from './client-events.js';
import { buildDaemonParts, type DaemonParts } from './daemon-parts.js';
import { FailureLog, formatDelay, pathNote, shownUrl, type ConnectFailure } from './connect-failure.js';
import { Backoff, openAttempt } from './connection.js';
import { FrameDispatch } from './frame-dispatch.js';

// The events' types are in their own file, which the round tasks import without this one.
export type { BankClientEvents } from './client-events.js';

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
  /** The aggregator's frame limit from its welcome: an update larger than this is declined, not sent. */
  private serverMaxFrameBytes = Number.POSITIVE_INFINITY;
  /** What the aggregator reads beyond the baseline (its welcome's `features`). */
  private serverFeatures: ReadonlySet<string> = new Set();
  private lastFromServer = 0;
  private backend: BackendInfo | null = null;
  private readonly ca: Buffer | undefined;
  /** The bank's side: ledger, identity, model, work queue … (daemon-parts.ts). */
  private readonly parts: DaemonParts;
  /** What each frame from the aggregator sets off (frame-dispatch.ts). */
  private readonly frames: FrameDispatch;

  constructor(
    private readonly config: BankConfig,
    private readonly data: LocalData,
    private readonly logger: Logger,
  ) {
    super();
    // The state key is required (issue 17 item 7): the state directory must have been opened
    // with it (openBankState, `start` does so) before anything below reads or writes there.
    requireOpenedState(config.stateDir);
    this.parts = buildDaemonParts(config, data, logger, {
      feedbackRead: (read) => this.frames.feedbackRead(read),
      progress: (roundId, done, total) => this.emit('training_progress', { roundId, done, total }),
    });
    // Not seeded: banks started together (same seed) must not reconnect in lockstep.
    this.backoff = new Backoff(config.reconnectMinMs, config.reconnectMaxMs, cryptoRng());
    this.ca = config.caFile ? readFileSync(config.caFile) : undefined;
    this.failures = new FailureLog(logger, config.server);
    // This daemon as the round tasks see it (round-tasks.ts): the dispatch runs them.
    const tasks: RoundTaskHost = {
      model: this.parts.model,
      ledger: this.parts.ledger,
      upload: this.parts.upload,
      logger,
      events: this,
      send: (ws, msg, tensors) => void this.send(ws, msg, tensors),
      sendFrame: (ws, frame) => this.sendFrame(ws, frame),
      maxFrameBytes: () => this.serverMaxFrameBytes,
      serverReads: (feature) => this.serverFeatures.has(feature),
      connection: () => this.connection,
      stillWanted: (task) => this.stillWanted(task),
    };
    this.frames = new FrameDispatch({
      config,
      parts: this.parts,
      tasks,
      sendFrame: (ws, frame, standsInForBeat) => this.sendFrame(ws, frame, standsInForBeat),
      welcomed: (ws, connection, msg) => this.onWelcome(ws, connection, msg),
    });
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
    return this.parts.work.settled();
  }

  /** Waits for any training or evaluation in progress (used at shutdown). */
  idle(): Promise<void> {
    return this.parts.work.settled();
  }

  private connect(): void {
    if (this.stopped) return;
    const id = ++this.connection;
    this.frames.newConnection();
    const server = this.config.server;
    // Retries after a failure are debug lines: the failure log (connect-failure.ts) says what matters.
    this.logger[this.failures.attempts === 0 ? 'info' : 'debug'](
      { server: shownUrl(server), attempt: this.backoff.attempts },
      'connecting',
    );
    this.ws = openAttempt(
      { server, welcomeTimeoutMs: this.config.welcomeTimeoutMs, ...(this.ca ? { ca: this.ca } : {}) },
      {
        open: (ws) =>
          this.send(ws, helloOf(this.config, this.data, this.backend!, this.parts.identity, this.parts.model)),
        welcomed: () => this.joinedConnection === id,
        frame: (ws, bytes) => {
          if (this.stopped) return;
          this.lastFromServer = Date.now();
          try {
            this.frames.handle(ws, id, bytes);
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

  /** The aggregator welcomed `connection`: it counts as joined, and its heartbeat starts. */
  private onWelcome(ws: WebSocket, connection: number, msg: Welcome): void {
    this.backoff.reset();
    this.joinedConnection = connection;
    const before = this.failures.joined();
    this.serverMaxFrameBytes = msg.maxFrameBytes;
    this.serverFeatures = new Set(msg.features ?? []);
    this.parts.model.ensure(msg.model);
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
  }

  private stillWanted(task: Task): string | null {
    if (this.connection !== task.connection || !this.ws || this.ws.readyState !== WebSocket.OPEN)
      return 'the connection it was assigned on is gone';
    if (this.frames.currentTask?.roundId !== task.roundId) return 'the round ended at the aggregator';
    if (Date.now() > task.deadline) return 'the round deadline passed';
    return null;
  }
}
