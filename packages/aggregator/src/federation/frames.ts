/**
 * Frames from authenticated banks: decode, then hand each message to the stage it belongs to
 * (offers and updates to the fit stage, evaluations to the evaluate stage, declines to the round). Never
 * throws: bad input is answered with an error frame, and audited when it concerns the round.
 */
import {
  CloseCode,
  decodeFrame,
  encodeFrame,
  FederationClientMessage,
  HISTOGRAM_TENSOR_FIELDS,
  isFrameError,
  type Decline,
} from '@finsecure/common/protocol';
import * as machine from '../round/machine.js';
import { auditRepeated, bankRound, noteRejection, type Core } from './core.js';
import { onEvaluation } from './evaluate-stage.js';
import { onOffer, onUpdate } from './fit-stage.js';
import { lose } from './runner.js';
import { onSecAggMessage } from './secagg/stages.js';
import type { BankSession } from './session.js';

export function sendError(session: BankSession, code: string, message: string, roundId?: number): void {
  session.reply(
    encodeFrame({
      type: 'error',
      code,
      message: message.slice(0, 2000),
      ...(roundId !== undefined ? { roundId } : {}),
    }),
  );
}

/**
 * Handles one binary frame from an authenticated bank. The frame's arrival time is taken here,
 * before it waits on the serial queue: deadlines are judged by when it arrived, not by when the
 * queue reached it. A bank over its frame rate has frames dropped before they are decoded or
 * queued (and is disconnected if it keeps on), so it cannot stall the rounds of the others.
 */
export function handleFrame(core: Core, session: BankSession, bytes: Uint8Array): Promise<void> {
  const { clock, observer, logger } = core.opts;
  const now = clock.now();
  const done = arrive(core, session, bytes, now);
  if (done) return done;
  // On the queue, the session is checked again: a revocation or token rotation queued before this
  // frame detached it, and what it sent after that is not the bank's (the peer may never answer
  // the close, keeping its socket open).
  const current = (fn: () => Promise<void>): Promise<void> =>
    core.enqueue(() => (core.sessions.isCurrent(session) ? fn() : undefined));
  // Read just after a hold of the event loop past a deadline: it came during the hold (armTimer).
  const receivedAt = core.heldSince !== null ? Math.min(now, core.heldSince) : now;
  let decoded: ReturnType<typeof decodeFrame<FederationClientMessage>>;
  try {
    // Views: the socket's message is ours alone, and an update waits for its slot holding only it.
    decoded = decodeFrame(bytes, FederationClientMessage, {
      maxBytes: core.opts.maxFrameBytes,
      views: true,
      // An evaluation's histograms may come as tensors (welcome: AGGREGATOR_FEATURES.binaryHistograms).
      tensorFields: HISTOGRAM_TENSOR_FIELDS,
    });
  } catch (err) {
    const message = (err as Error).message;
    observer?.updateRejected?.('frame');
    sendError(session, 'bad_frame', message);
    return core.enqueue(() =>
      auditRepeated(core, {
        type: 'frame.rejected',
        actor: session.bankId,
        reason: message,
        key: isFrameError(err) ? err.code : 'decode',
        details: { bytes: bytes.byteLength },
      }),
    );
  }
  const msg = decoded.msg;
  switch (msg.type) {
    case 'heartbeat':
      return Promise.resolve();
    case 'hello':
      sendError(session, 'unexpected_hello', 'already authenticated on this connection');
      return core.enqueue(() =>
        auditRepeated(core, {
          type: 'frame.rejected',
          actor: session.bankId,
          reason: 'already authenticated on this connection',
          key: 'second_hello',
          details: { category: 'second_hello' },
        }),
      );
    case 'error':
      logger.warn({ bankId: session.bankId, code: msg.code, message: msg.message }, 'bank reported an error');
      return Promise.resolve();
    case 'decline':
      return current(() => onDecline(core, session, msg));
    case 'update_offer':
      return current(() => onOffer(core, session, msg, receivedAt));
    case 'update':
      return current(() => onUpdate(core, session, msg, decoded.tensors, bytes.byteLength, receivedAt));
    case 'evaluation':
      return current(() => onEvaluation(core, session, msg, bytes.byteLength, receivedAt));
    default:
      // Secure aggregation: keys, shares, masked updates, signatures, unmask shares, refusals.
      return current(() => onSecAggMessage(core, session, msg, decoded.tensors, receivedAt, bytes.byteLength));
  }
}

/**
 * An analytics job's frame from an authenticated bank (server/plugins/bank-socket.ts sorts them
 * out by header): word from the bank like any other, and under the same frame rate limit, then
 * the job runner's. Before, these skipped both: a bank answering only a long job was timed out,
 * and a bank could send them as fast as its link allowed.
 */
export function handleAnalyticsFrame(
  core: Core,
  session: BankSession,
  bytes: Uint8Array,
  toJobs: (bankId: string, bytes: Uint8Array) => Promise<void>,
): Promise<void> {
  return arrive(core, session, bytes, core.opts.clock.now()) ?? toJobs(session.bankId, bytes);
}

/**
 * A text frame from an authenticated bank (not part of the protocol): under the frame rate limit
 * like any other frame, then `answer` (the socket plugin's error reply and refusal record).
 * Before, text frames skipped the limit, and each drew an error frame.
 */
export function handleTextFrame(
  core: Core,
  session: BankSession,
  bytes: Uint8Array,
  answer: () => void,
): Promise<void> {
  const done = arrive(core, session, bytes, core.opts.clock.now());
  if (done) return done;
  answer();
  return Promise.resolve();
}

/**
 * What every frame from a bank goes through on arrival: the bank is heard from (heartbeat
 * timeout, bytes) and its frame rate is checked. Returns null when the frame goes on to its
 * handler, or what is left to do when it does not (a replaced connection's frame, a frame
 * over the rate: dropped, or the bank disconnected and audited).
 */
function arrive(core: Core, session: BankSession, bytes: Uint8Array, receivedAt: number): Promise<void> | null {
  // A replaced connection's last frames are not this bank's current voice.
  if (!core.sessions.isCurrent(session)) return Promise.resolve();
  session.lastMessageAt = receivedAt;
  session.bytesUp += bytes.byteLength;
  core.opts.observer?.bytes?.('up', bytes.byteLength);
  const verdict = core.frameLimiter.admit(session.bankId);
  if (verdict.action === 'drop') {
    if (verdict.notify) {
      const { framesPerSecond, burst } = core.frameLimiter.limits;
      sendError(session, 'rate_limited', `over ${framesPerSecond} frames/s (burst ${burst}): frames are dropped`);
    }
    return Promise.resolve();
  }
  if (verdict.action === 'disconnect') {
    session.close(CloseCode.RateLimited, verdict.reason);
    core.frameLimiter.forget(session.bankId);
    return core.enqueue(() =>
      auditRepeated(core, {
        type: 'frame.rate_limited',
        actor: session.bankId,
        reason: verdict.reason,
        key: 'disconnect',
        details: { dropped: verdict.dropped },
      }),
    );
  }
  return null;
}

/** What a bank says when its own privacy budget stops it (bank-client/src/client.ts). */
const BUDGET_SPENT = /privacy budget/i;

/** A bank declines the round's request (no data, over its privacy budget, ...). */
async function onDecline(core: Core, session: BankSession, msg: Decline): Promise<void> {
  if (BUDGET_SPENT.test(msg.reason)) core.exhausted.set(session.bankId, msg.reason.slice(0, 200));
  // It was sent a model by reference that it does not hold: the weights go in full from now on.
  if (msg.needsModel) session.heldModel = null;
  const round = core.active;
  if (!round || msg.roundId !== round.state.roundId) return;
  const reason = `declined: ${msg.reason}`;
  // A participant's decline (e.g. of the evaluation) does not make it rejected.
  if (!machine.hasContributed(round.state, session.bankId)) {
    round.record.banks[session.bankId] = { ...bankRound(core, session.bankId), rejected: reason };
    noteRejection(core, session.bankId, msg.roundId, reason);
    // The reason is the bank's free text: coalesce by round, not by reason.
    await auditRepeated(core, {
      type: 'round.declined',
      actor: session.bankId,
      reason: msg.reason,
      key: `round ${msg.roundId}`,
      details: { roundId: msg.roundId },
    });
  }
  // Either way, do not wait for it.
  await lose(core, session.bankId, reason);
}
