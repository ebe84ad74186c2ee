/**
 * Frames from authenticated banks: decode, then hand each message to the stage it belongs to
 * (updates to the fit stage, evaluations to the evaluate stage, declines to the round). Never
 * throws: bad input is answered with an error frame, and audited when it concerns the round.
 */
import { decodeFrame, encodeFrame, FederationClientMessage, type Decline } from '@finsecure/common/protocol';
import * as machine from '../round/machine.js';
import { audit, bankRound, noteRejection, type Core } from './core.js';
import { onEvaluation } from './evaluate-stage.js';
import { onUpdate } from './fit-stage.js';
import { lose } from './runner.js';
import { onSecAggMessage } from './secagg/stages.js';
import type { BankSession } from './session.js';

export function sendError(session: BankSession, code: string, message: string, roundId?: number): void {
  session.send(
    encodeFrame({
      type: 'error',
      code,
      message: message.slice(0, 2000),
      ...(roundId !== undefined ? { roundId } : {}),
    }),
  );
}

/** Handles one binary frame from an authenticated bank. */
export function handleFrame(core: Core, session: BankSession, bytes: Uint8Array): Promise<void> {
  // A replaced connection's last frames are not this bank's current voice.
  if (!core.sessions.isCurrent(session)) return Promise.resolve();
  const { clock, observer, logger } = core.opts;
  session.lastMessageAt = clock.now();
  session.bytesUp += bytes.byteLength;
  observer?.bytes?.('up', bytes.byteLength);
  let decoded: ReturnType<typeof decodeFrame<FederationClientMessage>>;
  try {
    decoded = decodeFrame(bytes, FederationClientMessage, { maxBytes: core.opts.maxFrameBytes });
  } catch (err) {
    const message = (err as Error).message;
    observer?.updateRejected?.('frame');
    sendError(session, 'bad_frame', message);
    return core.enqueue(() =>
      audit(core, 'frame.rejected', session.bankId, { reason: message, bytes: bytes.byteLength }),
    );
  }
  const msg = decoded.msg;
  switch (msg.type) {
    case 'heartbeat':
      return Promise.resolve();
    case 'hello':
      sendError(session, 'unexpected_hello', 'already authenticated on this connection');
      return Promise.resolve();
    case 'error':
      logger.warn({ bankId: session.bankId, code: msg.code, message: msg.message }, 'bank reported an error');
      return Promise.resolve();
    case 'decline':
      return core.enqueue(() => onDecline(core, session, msg));
    case 'update':
      return core.enqueue(() => onUpdate(core, session, msg, decoded.tensors, bytes.byteLength));
    case 'evaluation':
      return core.enqueue(() => onEvaluation(core, session, msg, bytes.byteLength));
    default:
      // Secure aggregation: keys, shares, masked updates, signatures, unmask shares, refusals.
      return core.enqueue(() => onSecAggMessage(core, session, msg, decoded.tensors));
  }
}

/** A bank declines the round's request (no data, over its privacy budget, ...). */
async function onDecline(core: Core, session: BankSession, msg: Decline): Promise<void> {
  const round = core.active;
  if (!round || msg.roundId !== round.state.roundId) return;
  const reason = `declined: ${msg.reason}`;
  // A participant's decline (e.g. of the evaluation) does not make it rejected.
  if (!machine.hasContributed(round.state, session.bankId)) {
    round.record.banks[session.bankId] = { ...bankRound(core, session.bankId), rejected: reason };
    noteRejection(core, session.bankId, msg.roundId, reason);
    await audit(core, 'round.declined', session.bankId, { roundId: msg.roundId, reason: msg.reason });
  }
  // Either way, do not wait for it.
  await lose(core, session.bankId, reason);
}
