/**
 * The bank desk: who may join (token, revocation, protocol, schema), registering a connection
 * (welcome, replacing an older one, clock skew), losing one (socket closed, heartbeat timeout),
 * and the refusals shown to admins. Runs on the serial queue except `authenticate`, which only
 * reads the store.
 */
import { AGGREGATOR_FEATURES, CloseCode, encodeFrame, PROTOCOL_VERSION, type Hello } from '@finsecure/common/protocol';
import { hashToken, tokenMatches } from '../auth/tokens.js';
import type { BankRecord } from '../store/types.js';
import { audit, type Core } from './core.js';
import { assessHealth } from './consortium.js';
import { checkFeatureStats } from '../trust/feature-stats.js';
import { lose } from './runner.js';
import { BankSession, sendQueueLimitBytes, type BankConnection } from './session.js';
import { parametersOf } from './fit-stage.js';
import { publishBank, publishStatus } from './views.js';

export const SERVER_VERSION = '0.1.0';
/** Clock skew (bank clock − aggregator clock, at hello) beyond which a bank is logged and audited. */
export const CLOCK_SKEW_WARN_MS = 5_000;

/** Why a hello was refused: bad credentials (nobody proved an identity) or a known bank that cannot join. */
export type RefusalKind = 'credentials' | 'revoked' | 'protocol' | 'schema' | 'identity' | 'statistics';
export type AuthResult = { ok: true; bank: BankRecord } | { ok: false; kind: RefusalKind; reason: string };

/**
 * Checks a hello. The token is checked first: only a bank that proved who it is gets a
 * refusal recorded under its id (shown on the dashboard and in /api/banks), so nobody can
 * write reasons into another bank's record by claiming its id.
 */
export async function authenticate(core: Core, hello: Hello): Promise<AuthResult> {
  const { store, clock, spec } = core.opts;
  const bank = await store.getBank(hello.bankId);
  // Hash the presented token even for unknown banks so timing does not reveal which ids exist.
  const matches = tokenMatches(hello.token, bank?.tokenHash ?? hashToken('unknown-bank'));
  if (!bank || !matches) return { ok: false, kind: 'credentials', reason: 'unknown bank or bad token' };
  const refuse = async (kind: RefusalKind, reason: string): Promise<AuthResult> => {
    core.refusals[bank.id] = { at: clock.now(), reason, kind };
    await store.setSetting('bankRefusals', core.refusals);
    await publishBank(core, bank.id);
    return { ok: false, kind, reason };
  };
  if (bank.revokedAt !== null) return refuse('revoked', 'bank access revoked');
  if (hello.protocolVersion !== PROTOCOL_VERSION)
    return refuse(
      'protocol',
      `unsupported protocol version ${hello.protocolVersion} (server speaks ${PROTOCOL_VERSION})`,
    );
  if (hello.numFeatures !== spec.inputSize)
    return refuse('schema', `bank data has ${hello.numFeatures} features, the model expects ${spec.inputSize}`);
  // Statistics a bank could not have (counts above its rows, non-finite or absurd values) are
  // refused at the door, naming the feature; comparison with the other banks happens when the
  // scaler is fixed (consortium.ts) and only leaves a bank's statistics out.
  if (hello.featureStats) {
    const v = checkFeatureStats(bank.id, hello.featureStats, {
      declaredTrainExamples: hello.numExamples,
      numFeatures: spec.inputSize,
    });
    if (!v.ok) return refuse('statistics', `implausible feature statistics: ${v.reason}`);
  }
  if (hello.identityKey) {
    const pin = await core.identities.check(bank.id, hello.identityKey);
    if (typeof pin === 'object') return refuse('identity', pin.refused);
    if (pin === 'pinned') await audit(core, 'bank.identity_pinned', bank.id, { identityKey: hello.identityKey });
  }
  return { ok: true, bank };
}

/** Registers an authenticated connection and sends the welcome (on the serial queue). */
export async function attach(core: Core, hello: Hello, conn: BankConnection): Promise<BankSession | null> {
  const { store, clock, logger } = core.opts;
  const now = clock.now();
  // Revocation or token rotation may have happened since authenticate(): a hello checked against
  // the old token just before POST /api/banks/:id/token would otherwise join after the rotation
  // closed the bank's sockets, and stay.
  const bank = await store.getBank(hello.bankId);
  if (!bank || bank.revokedAt !== null) {
    conn.close(CloseCode.Unauthorized, 'bank access revoked');
    return null;
  }
  if (!tokenMatches(hello.token, bank.tokenHash)) {
    conn.close(CloseCode.Unauthorized, 'token rotated; use the new token');
    return null;
  }
  const limitBytes = core.opts.maxQueuedBytesPerBank ?? sendQueueLimitBytes(parametersOf(core));
  const session: BankSession = new BankSession(
    hello.bankId,
    hello,
    conn,
    now,
    () => core.frameLimiter.credit(hello.bankId),
    {
      limitBytes,
      onFull: (queuedBytes) => {
        const reason = `not reading: ${queuedBytes} bytes queued, over the ${limitBytes}-byte limit`;
        logger.warn({ bankId: hello.bankId, queuedBytes, limitBytes }, 'bank not reading: connection cut');
        // Detached now, as a revoked bank is: what it sends until its socket closes is not counted.
        void core.enqueue(async () => {
          await detach(core, session, reason);
          await audit(core, 'bank.not_reading', hello.bankId, { queuedBytes, limitBytes });
        });
      },
    },
  );
  // A new hello may carry a new budget: the bank is asked again, and says so if it is still spent.
  core.exhausted.delete(hello.bankId);
  const previous = core.sessions.add(session);
  if (previous) {
    previous.close(CloseCode.Replaced, 'replaced by a newer connection');
    await lose(core, hello.bankId, 'reconnected (previous connection replaced)');
  }
  session.send(
    encodeFrame({
      type: 'welcome',
      model: core.opts.spec,
      protocolVersion: PROTOCOL_VERSION,
      bankId: hello.bankId,
      serverVersion: SERVER_VERSION,
      heartbeatIntervalMs: core.opts.heartbeatIntervalMs,
      heartbeatTimeoutMs: core.opts.heartbeatTimeoutMs,
      maxFrameBytes: core.opts.maxFrameBytes,
      modelVersion: core.globalVersion,
      features: [AGGREGATOR_FEATURES.binaryHistograms],
    }),
  );
  await store.touchBank(hello.bankId, now);
  if (core.refusals[hello.bankId]) {
    delete core.refusals[hello.bankId];
    await store.setSetting('bankRefusals', core.refusals);
  }
  // Deadlines are judged on this clock, so skew cannot make a bank drop its updates; a
  // large one is still worth knowing (certificates, logs, audit times).
  const skewMs = hello.sentAt !== undefined ? hello.sentAt - now : null;
  if (skewMs !== null && Math.abs(skewMs) > CLOCK_SKEW_WARN_MS) {
    logger.warn({ bankId: hello.bankId, skewMs }, "bank clock differs from the aggregator's");
    await audit(core, 'bank.clock_skew', hello.bankId, { skewMs });
  }
  await audit(core, 'bank.joined', hello.bankId, {
    numExamples: hello.numExamples,
    backend: hello.backend,
    clientVersion: hello.clientVersion,
    dp: hello.dp ?? null,
  });
  logger.info({ bankId: hello.bankId, numExamples: hello.numExamples, backend: hello.backend }, 'bank connected');
  await assessHealth(core, hello.bankId);
  await publishBank(core, hello.bankId);
  publishStatus(core);
  core.scheduleStart(0);
  return session;
}

/** The socket closed (on the serial queue). A bank in the middle of a round is simply missing from it. */
export async function detach(core: Core, session: BankSession, why: string): Promise<void> {
  if (!core.sessions.remove(session)) return; // already replaced
  await lose(core, session.bankId, `disconnected (${why})`);
  await core.opts.store.touchBank(session.bankId, core.opts.clock.now());
  await audit(core, 'bank.left', session.bankId, { reason: why });
  core.opts.logger.info({ bankId: session.bankId, reason: why }, 'bank disconnected');
  await publishBank(core, session.bankId);
  publishStatus(core);
}

/** See Federation.changeBankAccess (on the serial queue). */
export async function changeAccess(
  core: Core,
  bankId: string,
  change: () => Promise<boolean>,
  entry: { type: string; actor: string },
  close: { code: number; reason: string },
  opts: { liftsRevocation?: boolean },
): Promise<boolean> {
  if (!(await change())) return false;
  if (opts.liftsRevocation && core.refusals[bankId]?.kind === 'revoked') {
    delete core.refusals[bankId];
    await core.opts.store.setSetting('bankRefusals', core.refusals);
  }
  // Closed and detached before the audit, so that a failed audit write cannot leave it connected;
  // detached now, not when the peer answers the close (a hostile or hung one never does, and
  // its frames would count until the socket's timeout): what it sends from here is dropped.
  const session = core.sessions.get(bankId);
  if (session) {
    session.close(close.code, close.reason);
    await detach(core, session, close.reason);
  }
  await audit(core, entry.type, entry.actor, { bankId });
  // A bank that was not connected has no detach to announce that it is revoked.
  await publishBank(core, bankId);
  return true;
}

/** Heartbeats: closes banks silent for too long and detaches them. */
export function checkHeartbeats(core: Core): void {
  const { clock, heartbeatTimeoutMs, heartbeatIntervalMs, logger } = core.opts;
  const { silent, lateMs } = core.sessions.sweep(clock.now(), heartbeatTimeoutMs, heartbeatIntervalMs);
  if (lateMs > 0)
    logger.warn(
      { lateMs, intervalMs: heartbeatIntervalMs },
      'heartbeat sweep ran late (the event loop was held): no bank is judged silent until the next sweep',
    );
  for (const s of silent) {
    logger.warn({ bankId: s.bankId }, 'heartbeat timeout; closing the connection');
    void core.enqueue(() => detach(core, s, 'heartbeat timeout'));
  }
}
