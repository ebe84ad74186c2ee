/**
 * What the bank does with each frame the aggregator sends, one case per message type: queue a
 * round's fit or evaluation, send an update once its upload is granted, save a committed model,
 * forget a failed round, log a refusal, hand analytics jobs and secure-aggregation steps to their
 * workers. The local work runs in the work queue, one task at a time, each tied to the
 * connection and round it came with; a round's task that fails declines the round. The round
 * under way is kept here too: the analysts' labels read for training are recorded against it.
 *
 * Apart from client.ts, which keeps the connection policy (when to connect, what a close means,
 * the welcome and the heartbeat that follow it): that policy and this dispatch change for
 * different reasons, and each reads on its own. The welcome is handed back to the client.
 */
import type WebSocket from 'ws';
import {
  decodeFrame,
  encodeFrame,
  FederationServerMessage,
  type RoundAssignment,
  type RoundCommitted,
  type SecAggServerMessage,
  type Welcome,
} from '@finsecure/common/protocol';
import type { BankConfig } from './config/index.js';
import type { DaemonParts } from './daemon-parts.js';
import type { FeedbackRead } from './feedback.js';
import { runEvaluation, runFit, secureFit, sendGranted, type RoundTaskHost, type Task } from './round-tasks.js';
import { standsInForBeat } from './heartbeat.js';
import { PinnedIdentities } from './secagg/identity.js';
import type { SecureFit } from './secagg/secure-fit.js';
import { MAX_SERVER_FRAME_BYTES } from './connection.js';
import { outwardFailure } from './outward.js';
import { HeldModels } from './model-held.js';

/** What the dispatch needs of the daemon (client.ts), which owns and builds all of it. */
export interface FrameDispatchHost {
  readonly config: Pick<BankConfig, 'bankId' | 'stateDir' | 'secaggRoster' | 'secureOnly' | 'evaluationMaxBins'>;
  /** The bank's side (daemon-parts.ts): identity and noise for secure aggregation, the work queue, … */
  readonly parts: Pick<DaemonParts, 'identity' | 'noiseRng' | 'work' | 'auditHeads' | 'analytics' | 'feedbackHistory'>;
  /** The daemon as the round tasks see it (round-tasks.ts): model, upload, logger, events, send. */
  readonly tasks: RoundTaskHost;
  /** Sends an encoded frame if the socket is open (heartbeat.ts `standsInForBeat`). */
  sendFrame(ws: WebSocket, frame: Uint8Array, standsInForBeat: boolean): void;
  /** The aggregator welcomed `connection`: the client's to act on (backoff, heartbeat, …). */
  welcomed(ws: WebSocket, connection: number, msg: Welcome): void;
}

export class FrameDispatch {
  /** The round this bank works on: set by an assignment, ended by a failure or a commit. */
  private current: Task | null = null;
  /** Secure aggregation of this connection, made at its first secure-aggregation message. */
  private secure: SecureFit | null = null;
  /** The latest round whose candidate this bank evaluated (admitEvaluation). */
  private evaluated: number | null = null;
  /** What this connection was sent, for frames that name a model instead of carrying it. */
  private readonly models = new HeldModels();

  constructor(private readonly host: FrameDispatchHost) {}

  /** The round this bank works on now, if any (the client asks whether a result is still wanted). */
  get currentTask(): Task | null {
    return this.current;
  }

  /** A new connection: secure-aggregation state belongs to one connection, so it starts clean. */
  newConnection(): void {
    this.secure = null;
    this.models.reset();
  }

  /** Labels read for training: logged, emitted, and kept in the console's feedback history. */
  feedbackRead(read: FeedbackRead): void {
    const { logger, events, model } = this.host.tasks;
    const roundId = this.current?.roundId ?? null;
    if (read.labels > 0) logger.info({ roundId, ...read }, 'analyst labels added to the training data');
    events.emit('feedback', { roundId, ...read });
    if (roundId !== null) model.keepHistory(() => this.host.parts.feedbackHistory.recordRound(roundId, read));
  }

  /** Decodes one frame of `connection` and acts on it; throws on a frame it cannot read. */
  handle(ws: WebSocket, connection: number, bytes: Uint8Array): void {
    const tasks = this.host.tasks;
    const logger = tasks.logger;
    const { msg, tensors } = decodeFrame(bytes, FederationServerMessage, { maxBytes: MAX_SERVER_FRAME_BYTES });
    switch (msg.type) {
      case 'welcome':
        this.host.welcomed(ws, connection, msg);
        return;
      case 'heartbeat':
        // Not answered: the timer set at the welcome sends this bank's own heartbeat in every
        // interval it sent nothing else (heartbeat.ts), which is all the aggregator needs to see it
        // alive (an answer was a second frame per interval for it to read). Its arrival already
        // counts as word from the server.
        return;
      case 'round_assignment': {
        if (this.secureOnly) {
          this.declinePlain(ws, msg.roundId, 'round assignment');
          return;
        }
        const global = this.assignedModel(msg, tensors.get('global')?.data);
        if (!global) {
          const reason = `this bank does not hold model v${msg.modelVersion} (sent by reference); send it in full`;
          logger.warn({ roundId: msg.roundId }, reason);
          tasks.send(ws, { type: 'decline', roundId: msg.roundId, reason, needsModel: true });
          return;
        }
        if (msg.auditHead) this.host.parts.auditHeads.record(msg.roundId, msg.auditHead);
        // The deadline on this bank's clock, from the time left the aggregator sent (never an
        // absolute time: clocks differ).
        const deadline = Date.now() + msg.deadlineInMs;
        this.current = { roundId: msg.roundId, connection, deadline };
        this.enqueueWork(
          `fit of round ${msg.roundId}`,
          () => runFit(tasks, ws, connection, msg, global, deadline),
          msg.roundId,
          ws,
        );
        return;
      }
      case 'evaluation_request': {
        const weights = tensors.get('global')?.data;
        if (!weights) throw new Error('evaluation request without a "global" tensor');
        if (this.secureOnly) {
          this.declinePlain(ws, msg.roundId, 'evaluation request');
          return;
        }
        const refusal = this.admitEvaluation(msg.roundId, msg.histogramBins);
        if (refusal) {
          logger.warn({ roundId: msg.roundId, reason: refusal }, 'evaluation request declined');
          tasks.send(ws, { type: 'decline', roundId: msg.roundId, reason: refusal });
          return;
        }
        this.models.evaluating(msg.roundId, msg.modelVersion, weights);
        this.enqueueWork(
          `evaluation of round ${msg.roundId}`,
          () => runEvaluation(tasks, ws, connection, msg, weights),
          msg.roundId,
          ws,
        );
        return;
      }
      case 'round_committed': {
        const weights = this.committedModel(msg, tensors.get('global')?.data);
        if (weights) this.enqueueWork(`saving model v${msg.modelVersion}`, () => this.saveModel(msg, weights));
        else if (msg.modelSha256) {
          // Named a candidate this bank does not hold (no honest path leads here): the round is over
          // all the same, and the aggregator is told at once, so that it sends the next model in full
          // instead of naming this one again (the decline's round is committed: it changes nothing else).
          if (this.current?.roundId === msg.roundId) this.current = null;
          const reason = `this bank does not hold the candidate of round ${msg.roundId} (model v${msg.modelVersion}, sent by reference); send models in full`;
          logger.warn({ roundId: msg.roundId, modelVersion: msg.modelVersion }, reason);
          tasks.send(ws, { type: 'decline', roundId: msg.roundId, reason, needsModel: true });
        }
        return;
      }
      case 'upload_grant':
        sendGranted(tasks, ws, connection, msg.roundId);
        return;
      case 'round_failed':
        if (this.current?.roundId === msg.roundId) this.current = null;
        tasks.upload.drop(msg.roundId);
        logger.warn({ roundId: msg.roundId, reason: msg.reason }, 'round failed at the aggregator');
        return;
      case 'ack':
        // A refused offer is answered like a refused update: nothing will be granted for it.
        if (!msg.accepted && msg.of === 'update') tasks.upload.drop(msg.roundId);
        if (!msg.accepted) {
          logger.warn({ roundId: msg.roundId, of: msg.of, reason: msg.reason }, 'the aggregator rejected our result');
          tasks.events.emit('rejected', { roundId: msg.roundId, reason: msg.reason ?? '' });
        }
        return;
      case 'error':
        logger.warn({ code: msg.code, message: msg.message }, 'the aggregator reported an error');
        return;
      case 'analytics_request':
      case 'analytics_result':
        void this.host.parts.analytics.handle(msg, (m) =>
          this.host.sendFrame(ws, encodeFrame(m), standsInForBeat(m.type)),
        );
        return;
      default:
        this.onSecAgg(ws, connection, msg, tensors);
        return;
    }
  }

  /** The weights an assignment trains from: its tensor (then held), or the held model it names. */
  private assignedModel(msg: RoundAssignment, tensor: Float32Array | undefined): Float32Array | null {
    if (tensor) {
      this.models.received(msg.modelVersion, tensor);
      return tensor;
    }
    return msg.modelSha256 ? this.models.byReference(msg.modelVersion, msg.modelSha256) : null;
  }

  /** The committed weights: the commit's tensor, or the evaluated candidate it names; both are then held. */
  private committedModel(msg: RoundCommitted, tensor: Float32Array | undefined): Float32Array | null {
    if (tensor) {
      this.models.received(msg.modelVersion, tensor);
      return tensor;
    }
    return msg.modelSha256 ? this.models.committed(msg.roundId, msg.modelVersion, msg.modelSha256) : null;
  }

  /**
   * Admits one evaluation of round `roundId`'s candidate with `bins` histogram bins (null; later
   * ones of that round and of earlier rounds are then refused), or says why it is refused. An
   * evaluation is a histogram of the test split's scores under weights the aggregator chooses:
   * asked for at will, and again with other weights or scalers, it lets the aggregator read values
   * out of the test split (weights whose score is one feature, zoomed in request after request). So
   * this bank evaluates only the candidate of the round it is in and sent its own update in (as every
   * strategy asks: the evaluators are the round's participants), once, and only rounds later than
   * the last it evaluated: each evaluation costs the aggregator a round of this bank's training,
   * and a round id cannot be reused. Neither a round assigned again nor a secure round whose
   * masked update was never sent opens another (egress review). What one evaluation per round still
   * shows is in the README ("What leaves a bank, exactly").
   */
  admitEvaluation(roundId: number, bins: number): string | null {
    if (this.current?.roundId !== roundId || this.host.tasks.upload.released !== roundId)
      return `this bank evaluates only the candidate of a round it trains in and sent its update in (round ${roundId} is not)`;
    if (this.evaluated !== null && roundId <= this.evaluated) {
      return roundId === this.evaluated
        ? `this bank has already evaluated round ${roundId}'s candidate`
        : `this bank evaluates only rounds after the last it evaluated (round ${this.evaluated}; round ${roundId} is not: restart the bank if the federation started anew)`;
    }
    const maxBins = this.host.config.evaluationMaxBins;
    if (bins > maxBins)
      return `bank ${this.host.config.bankId} evaluates with at most ${maxBins} histogram bins, round ${roundId} asks for ${bins} (the aggregator's histogramBins; or the bank's evaluationMaxBins setting)`;
    this.evaluated = roundId;
    return null;
  }

  /** secureOnly, or its default: on with a secure-aggregation roster. */
  private get secureOnly(): boolean {
    return this.host.config.secureOnly ?? this.host.config.secaggRoster !== undefined;
  }

  /** Declines a plain round's `what` (secureOnly): the aggregator would see this bank's answer unmasked. */
  private declinePlain(ws: WebSocket, roundId: number, what: string): void {
    const reason = `bank ${this.host.config.bankId} takes part only in secure rounds (its secureOnly setting, on with a secure-aggregation roster); this plain ${what} is declined`;
    this.host.tasks.logger.warn({ roundId }, reason);
    this.host.tasks.send(ws, { type: 'decline', roundId, reason });
  }

  /** Secure aggregation: one SecureFit per connection; its steps run in the work queue, in order. */
  private onSecAgg(
    ws: WebSocket,
    connection: number,
    msg: SecAggServerMessage,
    tensors: ReadonlyMap<string, { data: Float32Array }>,
  ): void {
    if (msg.type === 'secagg_masked_fit') {
      if (msg.auditHead) this.host.parts.auditHeads.record(msg.roundId, msg.auditHead);
      this.current = { roundId: msg.roundId, connection, deadline: Date.now() + msg.deadlineInMs };
    }
    if (msg.type === 'secagg_masked_evaluate') {
      const refusal = this.admitEvaluation(msg.roundId, msg.histogramBins);
      if (refusal) {
        this.host.tasks.logger.warn({ roundId: msg.roundId, reason: refusal }, 'masked evaluation declined');
        this.host.tasks.send(ws, { type: 'decline', roundId: msg.roundId, reason: refusal });
        return;
      }
    }
    this.secure ??= secureFit(this.host.tasks, ws, connection, {
      bankId: this.host.config.bankId,
      identity: this.host.parts.identity,
      pinned: new PinnedIdentities(this.host.config.stateDir),
      roster: this.host.config.secaggRoster ?? null,
      noiseRng: this.host.parts.noiseRng,
    });
    const secure = this.secure;
    this.enqueueWork(`${msg.type} of round ${msg.roundId}`, () => secure.handle(msg, tensors), msg.roundId, ws);
  }

  /** Queues local work (work-queue.ts); a round's task that fails declines the round. */
  private enqueueWork(what: string, task: () => Promise<void>, roundId?: number, ws?: WebSocket): void {
    this.host.parts.work.add(
      what,
      task,
      roundId !== undefined && ws
        ? (err) => this.host.tasks.send(ws, { type: 'decline', roundId, reason: outwardFailure(what, err) })
        : undefined,
    );
  }

  private async saveModel(msg: RoundCommitted, weights: Float32Array): Promise<void> {
    if (this.current?.roundId === msg.roundId) this.current = null;
    await this.host.tasks.model.save(msg, weights);
    this.host.tasks.events.emit('committed', { roundId: msg.roundId, modelVersion: msg.modelVersion });
  }
}
