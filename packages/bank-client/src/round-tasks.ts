/**
 * The bank's work for one round, between the connection (client.ts) and the model (local-model.ts):
 * train for an assignment and send the update (offered first, or at once when the assignment
 * granted the upload in advance), send an offered update once granted, and score a candidate
 * model into the counts the aggregator asks for. Each result is tied to the connection and round
 * it was computed for; what the host no longer wants is dropped, never sent into a later round.
 */
import WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  AGGREGATOR_FEATURES,
  HISTOGRAM_TENSOR_FIELDS,
  splitTensorFields,
  type EvaluationRequest,
  type EvaluationResult,
  type FederationClientMessage,
  type RoundAssignment,
  type TensorInput,
} from '@finsecure/common/protocol';
import type { EventEmitter } from 'node:events';
import type { BankClientEvents } from './client-events.js';
import type { LocalPrivacyLedger } from './privacy.js';
import type { LocalModel, RoundDp } from './local-model.js';
import type { FitOutput } from './round-work.js';
import { maskedFrame, updateFrame, type UpdateUpload } from './update-upload.js';
import { SecureFit } from './secagg/secure-fit.js';
import type { PinnedIdentities } from './secagg/identity.js';
import type { SecAggRoster } from './secagg/roster.js';
import type { IdentityKeyPair } from '@finsecure/common/secagg';
import type { Rng } from '@finsecure/common/rng';
import { outwardFailure } from './outward.js';

/** A round's task: the round, the connection it was assigned on and its deadline (this bank's clock, epoch ms). */
export interface Task {
  roundId: number;
  connection: number;
  deadline: number;
}

/** What the round tasks need of the daemon (client.ts). */
export interface RoundTaskHost {
  readonly model: LocalModel;
  readonly ledger: LocalPrivacyLedger;
  readonly upload: UpdateUpload;
  readonly logger: Logger;
  readonly events: Pick<EventEmitter<BankClientEvents>, 'emit'>;
  /** Encodes and sends a message if the socket is open. */
  send(ws: WebSocket, msg: FederationClientMessage, tensors?: TensorInput[]): void;
  /** Sends an already encoded frame if the socket is open. */
  sendFrame(ws: WebSocket, frame: Uint8Array): void;
  /** The aggregator's frame limit, bytes (from its welcome). */
  maxFrameBytes(): number;
  /** Whether the aggregator listed this feature (AGGREGATOR_FEATURES) in its welcome. */
  serverReads(feature: string): boolean;
  /** The connection in use now (a counter: each reconnection is a new one). */
  connection(): number;
  /** Why the task's result is no longer wanted (connection gone, round over, deadline passed), or null. */
  stillWanted(task: Task): string | null;
}

/**
 * Trains for a round assignment and sends the update: declined when the bank's privacy budget would
 * be exceeded or training fails, dropped when no longer wanted by the time it is done.
 */
export async function runFit(
  host: RoundTaskHost,
  ws: WebSocket,
  connection: number,
  msg: RoundAssignment,
  global: Float32Array,
  deadline: number,
): Promise<void> {
  const { model, ledger, logger } = host;
  const task: Task = { roundId: msg.roundId, connection, deadline };
  const dp = model.effectiveDp(msg.config.dp);
  if (dp?.epsilonBudget !== undefined && ledger.wouldExceed(dp.noiseMultiplier, dp.delta, dp.epsilonBudget)) {
    const reason = `privacy budget ε=${dp.epsilonBudget} would be exceeded (spent ${ledger.epsilon(dp.delta).toFixed(3)})`;
    logger.warn({ roundId: msg.roundId }, reason);
    host.send(ws, { type: 'decline', roundId: msg.roundId, reason });
    return;
  }
  logger.info({ roundId: msg.roundId, epochs: msg.config.epochs }, 'training');
  let out;
  try {
    out = await model.fit(msg.roundId, global, msg.config, msg.scaler, dp);
  } catch (err) {
    logger.error({ roundId: msg.roundId, err: (err as Error).message }, 'local training failed');
    host.send(ws, {
      type: 'decline',
      roundId: msg.roundId,
      reason: outwardFailure('local training', err),
    });
    return;
  }
  const unwanted = host.stillWanted(task);
  if (unwanted) {
    logger.warn({ roundId: msg.roundId, reason: unwanted }, 'update dropped');
    host.events.emit('update_dropped', { roundId: msg.roundId, reason: unwanted });
    return;
  }
  // Encode first: a frame that cannot be built must not cost privacy budget.
  const frame = updateFrame(msg, out, host.maxFrameBytes());
  offerUpload(host, ws, connection, msg.roundId, msg.modelVersion, frame, out, dp, msg.preGrantedUpload?.maxBytes);
}

/**
 * Offer first, upload when granted (issue 14): the aggregator takes a few updates at a time. A
 * frame the round assignment granted in advance (`preGrantedBytes`: at most that many bytes) goes
 * at once. A frame over the aggregator's limit (`frame` is then the reason) is declined instead:
 * sending it would only get the socket closed (1009) and the round retried forever.
 */
export function offerUpload(
  host: RoundTaskHost,
  ws: WebSocket,
  connection: number,
  roundId: number,
  modelVersion: number,
  frame: Uint8Array | string,
  out: FitOutput,
  dp: RoundDp | null,
  preGrantedBytes?: number,
): void {
  if (typeof frame === 'string') {
    host.logger.error({ roundId }, frame);
    host.send(ws, { type: 'decline', roundId, reason: frame });
    return;
  }
  const offer = host.upload.hold(roundId, connection, frame, out, dp);
  if (preGrantedBytes !== undefined && frame.byteLength <= preGrantedBytes) {
    sendGranted(host, ws, connection, roundId);
    return;
  }
  host.send(ws, { type: 'update_offer', roundId, modelVersion, ...offer });
  host.logger.info({ roundId, bytes: offer.bytes }, 'update offered');
}

/** The upload of our held update is granted (update-upload.ts): send it now. */
export function sendGranted(host: RoundTaskHost, ws: WebSocket, connection: number, roundId: number): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  const frame = host.upload.grant(roundId, connection);
  if (!frame) return;
  host.sendFrame(ws, frame);
  host.events.emit('update_sent', { roundId, bytes: frame.byteLength });
}

/** Scores the candidate model on the bank's test split and sends the counts (declined without test data). */
export async function runEvaluation(
  host: RoundTaskHost,
  ws: WebSocket,
  connection: number,
  msg: EvaluationRequest,
  weights: Float32Array,
): Promise<void> {
  if (host.connection() !== connection) return;
  const out = host.model.evaluate(msg.roundId, msg.modelVersion, weights, msg.threshold, msg.histogramBins, msg.scaler);
  if (!out) {
    host.send(ws, { type: 'decline', roundId: msg.roundId, reason: 'no local test data' });
    return;
  }
  if (host.connection() !== connection) return;
  const result: EvaluationResult = {
    type: 'evaluation',
    roundId: msg.roundId,
    modelVersion: msg.modelVersion,
    threshold: msg.threshold,
    ...out,
  };
  // The histograms' counts as tensors to an aggregator that reads them (tensor-fields.ts).
  if (host.serverReads(AGGREGATOR_FEATURES.binaryHistograms)) {
    const split = splitTensorFields(result, HISTOGRAM_TENSOR_FIELDS);
    host.send(ws, split.msg, split.tensors);
  } else host.send(ws, result);
  host.events.emit('evaluation_sent', { roundId: msg.roundId });
}

/**
 * The secure-aggregation side of a connection's rounds (secagg/secure-fit.ts), wired to this host:
 * its messages go out on `ws`, and its masked update takes the same way out as a plaintext one
 * (offered, or declined over the aggregator's frame limit; a secure round never pre-grants).
 */
export function secureFit(
  host: RoundTaskHost,
  ws: WebSocket,
  connection: number,
  bank: {
    bankId: string;
    identity: IdentityKeyPair;
    pinned: PinnedIdentities;
    roster: SecAggRoster | null;
    noiseRng: Rng;
  },
): SecureFit {
  return new SecureFit({
    ...bank,
    logger: host.logger,
    // SecureFit decides the DP (local or distributed), checks the budget and records the release.
    model: host.model,
    privacy: { ledger: host.ledger, noiseRng: bank.noiseRng },
    send: (m, t) => {
      host.send(ws, m, t);
      if (m.type === 'secagg_masked_evaluation') host.events.emit('evaluation_sent', { roundId: m.roundId });
    },
    // The masked update's DP, if any, was recorded by SecureFit as it masked it.
    offerUpdate: (m, t, out) =>
      offerUpload(host, ws, connection, m.roundId, m.modelVersion, maskedFrame(m, t, host.maxFrameBytes()), out, null),
  });
}
