/**
 * Upload slots of the fit stage: the pull protocol that bounds the aggregator's memory (issue 14).
 *
 * A bank that has trained sends an `update_offer`; the aggregator judges it on arrival (round,
 * model version, selection, deadline, size) and queues it; at most `rules.uploadSlots` (K) offers
 * hold a grant at a time. A granted bank sends its `update` frame; once that update has been
 * added to the strategy's accumulator (or refused), its slot passes to the next offer in arrival
 * order. So however many banks finish at once, at most K update frames are on their way to, or
 * decoded in, the aggregator (K frames: float32 tensors are decoded as views into their frame when
 * aligned, else K × (frame + decoded copy) bytes, 4 × 8 MB at 1M parameters), while
 * the strategy's own state is what it is (FedAvg: one running sum; buffering strategies: their
 * documented bound). A granted bank whose frame has not arrived within `rules.uploadGrantTimeoutMs`
 * loses its slot and is dropped from the stage like a bank that missed the deadline. A secure round's
 * masked update (secagg/stages.ts) takes the same slots during its masked_fit stage.
 *
 * Pre-granted uploads: when every selected bank's update fits in `rules.uploadPreGrantBytes` at once
 * (frame and decoded copy), the plaintext round's assignment grants all uploads in advance
 * (`preGrantUploads`), and a bank sends its update without an offer: the memory stays bounded (by
 * that budget instead of K slots) without the round trip, which at the MLP's 16 KB was two of a
 * bank's seven frames per round, and 15 % of the aggregator's CPU per bank at 100 banks (none at
 * 1,000, where offers and grants come in bursts: bench/RESULTS.md, issue 14 item 1). Offers are
 * still answered (older banks send them).
 *
 * `UploadQueue` is the bookkeeping (pure, O(1) per offer, grant and release); the functions below
 * are its IO over the federation's Core (frames, one timer per grant), called on the serial queue.
 */
import { encodeFrame } from '@finsecure/common/protocol';
import type { ActiveRound, Core } from './core.js';
import type { RoundRules } from '../round/rules.js';
import { lose } from './runner.js';
import { afterReads } from './clock.js';

/** The round's rules (K and the grant timeout; defaulted by the schema for settings stored before them). */
function rulesOf(round: ActiveRound): Pick<RoundRules, 'uploadSlots' | 'uploadGrantTimeoutMs'> {
  const r = round.record.config.rules as Partial<RoundRules>;
  return { uploadSlots: r.uploadSlots ?? 4, uploadGrantTimeoutMs: r.uploadGrantTimeoutMs ?? 30_000 };
}

export interface Offer {
  /** Byte length of the update frame the bank said it will send. */
  bytes: number;
  /** Examples the update will declare (its FedAvg weight). */
  numExamples: number;
  /** When the offer arrived (aggregator clock, ms). */
  at: number;
}

interface Grant extends Offer {
  grantedAt: number;
  timer: unknown;
}

/**
 * Offers waiting for a slot (FIFO) and the slots granted. Each operation is O(1) amortised: the
 * FIFO is an array with a moving head, and a bank that left the queue is skipped lazily.
 */
export class UploadQueue {
  private readonly fifo: string[] = [];
  private head = 0;
  private readonly waiting = new Map<string, Offer>();
  private readonly grants = new Map<string, Grant>();
  /** Most grants held at once in this round. */
  peakInFlight = 0;
  /** Grants given in this round. */
  granted = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`upload slots must be an integer ≥ 1, got ${limit}`);
  }

  get inFlight(): number {
    return this.grants.size;
  }

  /** Offers waiting for a slot. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Whether the bank's offer is queued or granted. */
  holds(bankId: string): 'waiting' | 'granted' | null {
    if (this.grants.has(bankId)) return 'granted';
    return this.waiting.has(bankId) ? 'waiting' : null;
  }

  grantOf(bankId: string): Readonly<Offer> | undefined {
    return this.grants.get(bankId);
  }

  offer(bankId: string, offer: Offer): void {
    if (this.holds(bankId)) throw new Error(`${bankId} already offered its update`);
    this.waiting.set(bankId, offer);
    this.fifo.push(bankId);
  }

  /** The next waiting offer if a slot is free, now granted; else null. */
  grantNext(now: number, timer: (bankId: string) => unknown): { bankId: string; offer: Offer } | null {
    if (this.grants.size >= this.limit) return null;
    while (this.head < this.fifo.length) {
      const bankId = this.fifo[this.head++]!;
      const offer = this.waiting.get(bankId);
      if (!offer) continue; // left the queue meanwhile
      this.waiting.delete(bankId);
      this.grants.set(bankId, { ...offer, grantedAt: now, timer: timer(bankId) });
      this.granted++;
      this.peakInFlight = Math.max(this.peakInFlight, this.grants.size);
      // Drop the consumed front now and then, so the array does not grow with every offer ever made.
      if (this.head > 1024 && this.head * 2 > this.fifo.length) {
        this.fifo.splice(0, this.head);
        this.head = 0;
      }
      return { bankId, offer };
    }
    return null;
  }

  /** Removes the bank's offer or grant; returns the grant's timer handle (to clear), if any. */
  release(bankId: string): { wasGranted: boolean; timer: unknown } {
    const g = this.grants.get(bankId);
    if (g) {
      this.grants.delete(bankId);
      return { wasGranted: true, timer: g.timer };
    }
    this.waiting.delete(bankId);
    return { wasGranted: false, timer: undefined };
  }

  /** Every grant's timer, and empties the queue (the stage closed). */
  clear(): unknown[] {
    const timers = [...this.grants.values()].map((g) => g.timer);
    this.grants.clear();
    this.waiting.clear();
    this.fifo.length = 0;
    this.head = 0;
    return timers;
  }
}

/**
 * Header room of an update frame above its float32 tensor, bytes: the JSON message (round, model
 * version, examples, loss, timings, DP) and the tensor manifest are a few hundred bytes.
 */
const UPDATE_HEADER_BYTES = 4096;

/**
 * Grants every upload of a plaintext round in advance when the selected banks' updates fit in
 * `rules.uploadPreGrantBytes` together, each counted as what it may hold in the aggregator at worst:
 * its frame (at most 4 bytes × `parameters` + header room) and a decoded float32 copy (4 bytes ×
 * `parameters`; none when the frame is float32 and aligned, which is read in place). Returns the
 * largest update frame pre-granted to each bank, bytes (for the round assignment's
 * `preGrantedUpload`), or null (banks offer first). Call once per round, before the assignment.
 */
export function preGrantUploads(round: ActiveRound, banks: number, parameters: number): number | null {
  const budget = (round.record.config.rules as Partial<RoundRules>).uploadPreGrantBytes ?? 0;
  const maxBytes = 4 * parameters + UPDATE_HEADER_BYTES;
  if (budget <= 0 || banks * (maxBytes + 4 * parameters) > budget) return null;
  preGranted.set(round, maxBytes);
  return maxBytes;
}

/** What the aggregator observed of upload slots since it started (tests, benchmarks). */
export interface UploadStats {
  /** Most uploads granted at once, over every round. */
  peakInFlight: number;
  /** Granted now (round in flight). */
  inFlight: number;
  /** Offers of the round in flight waiting for a slot now. */
  waiting: number;
  granted: number;
  /** Updates refused because they came without a grant. */
  ungranted: number;
  /**
   * Updates that came without an offer and passed the upload check because their round granted
   * uploads in advance (the stage then judged them: a second, unselected or late one is counted too).
   */
  preGranted: number;
  /** Granted banks dropped because their frame did not arrive within the grant timeout. */
  expired: number;
}

const queues = new WeakMap<ActiveRound, UploadQueue>();
/**
 * Rounds whose uploads are granted in advance: the largest frame granted, bytes. Kept after the fit
 * stage closes, so that a pre-granted update arriving then is refused by the stage as "late", which
 * says more than "no upload grant".
 */
const preGranted = new WeakMap<ActiveRound, number>();
const stats = new WeakMap<Core, UploadStats>();

export function uploadStats(core: Core): UploadStats {
  let s = stats.get(core);
  if (!s)
    stats.set(
      core,
      (s = { peakInFlight: 0, inFlight: 0, waiting: 0, granted: 0, ungranted: 0, preGranted: 0, expired: 0 }),
    );
  const q = core.active ? queues.get(core.active) : undefined;
  s.inFlight = q?.inFlight ?? 0;
  s.waiting = q?.waitingCount ?? 0;
  return s;
}

/** The round's upload queue, made on first use with the round's rules. */
export function uploadQueue(round: ActiveRound): UploadQueue {
  let q = queues.get(round);
  if (!q) {
    queues.set(round, (q = new UploadQueue(rulesOf(round).uploadSlots)));
  }
  return q;
}

function grantTimeoutMs(round: ActiveRound): number {
  return rulesOf(round).uploadGrantTimeoutMs;
}

/**
 * Whether an upload of `size` bytes from `bankId` may be looked at: `{ preGranted: false }` when it
 * is the one the bank was granted; `{ preGranted: true }` when its round granted uploads in advance
 * and it is no larger than granted (whether the bank was selected, in time, on the right model
 * version and not sending a second update is for the stage to judge, and a refusal there must not
 * drop a bank the stage held no slot for); else why not (`reason`). Without a grant it is refused and
 * the bank stays in the stage (its offer may still be waiting); an upload that differs from its offer
 * (size, or the examples it declares when given) is refused and the bank leaves the stage (`lose`),
 * since the stage was holding a slot for it.
 */
export function uploadRefusal(
  core: Core,
  round: ActiveRound,
  bankId: string,
  size: number,
  numExamples?: number,
): { reason: string; lose: boolean } | { preGranted: boolean } {
  const queue = uploadQueue(round);
  const held = queue.holds(bankId);
  const grant = held === 'granted' ? queue.grantOf(bankId) : undefined;
  const advance = preGranted.get(round);
  if (!grant && advance !== undefined && size <= advance) {
    uploadStats(core).preGranted++;
    return { preGranted: true };
  }
  if (!grant) {
    uploadStats(core).ungranted++;
    const waiting = held === 'waiting' ? ' (its offer is still waiting for a slot)' : '';
    return {
      reason: `no upload grant${waiting}: send update_offer and wait for upload_grant before the update (round ${round.state.roundId})`,
      lose: false,
    };
  }
  if (size !== grant.bytes || (numExamples !== undefined && numExamples !== grant.numExamples)) {
    const examples = numExamples !== undefined ? ` and ${numExamples} examples` : '';
    const offered = numExamples !== undefined ? ` and ${grant.numExamples}` : '';
    return {
      reason: `update does not match its offer (${size} bytes${examples}, offered ${grant.bytes} bytes${offered})`,
      lose: true,
    };
  }
  return { preGranted: false };
}

/** Queues an offer the fit stage accepted, and grants what the free slots allow. */
export function queueOffer(core: Core, round: ActiveRound, bankId: string, offer: Offer): void {
  uploadQueue(round).offer(bankId, offer);
  grantFreeSlots(core, round);
}

/**
 * The bank's upload is done with (its update added or refused, or the bank left the round): its
 * slot, or its place in the queue, passes on.
 */
export function releaseUpload(core: Core, round: ActiveRound, bankId: string): void {
  const q = queues.get(round);
  if (!q || !q.holds(bankId)) return;
  const { wasGranted, timer } = q.release(bankId);
  if (wasGranted) core.opts.clock.clearTimeout(timer);
  grantFreeSlots(core, round);
}

/** The stage closed (or the round ended): no grant stays armed. */
export function closeUploads(core: Core, round: ActiveRound): void {
  const q = queues.get(round);
  if (!q) return;
  for (const t of q.clear()) core.opts.clock.clearTimeout(t);
}

function grantFreeSlots(core: Core, round: ActiveRound): void {
  const q = uploadQueue(round);
  const s = uploadStats(core);
  const timeoutMs = grantTimeoutMs(round);
  const { clock } = core.opts;
  for (;;) {
    const grantedAt = clock.now();
    // Late (the event loop held): an upload sent in time is read, and taken, before it expires.
    const next = q.grantNext(grantedAt, (bankId) =>
      clock.setTimeout(
        afterReads(clock, grantedAt + timeoutMs, () => {
          if (!core.closed) void core.enqueue(() => expire(core, round, bankId));
        }),
        timeoutMs,
      ),
    );
    if (!next) break;
    s.granted++;
    s.peakInFlight = Math.max(s.peakInFlight, q.inFlight);
    const session = core.sessions.get(next.bankId);
    // A bank gone since its offer is dropped by its disconnect (which releases this slot).
    session?.send(encodeFrame({ type: 'upload_grant', roundId: round.state.roundId, uploadWithinMs: timeoutMs }));
  }
}

/** A granted bank did not upload in time: it loses its slot and leaves the stage. */
async function expire(core: Core, round: ActiveRound, bankId: string): Promise<void> {
  if (core.active !== round || queues.get(round)?.holds(bankId) !== 'granted') return;
  uploadStats(core).expired++;
  const ms = grantTimeoutMs(round);
  core.opts.logger.warn({ bankId, roundId: round.state.roundId, ms }, 'no upload within the grant timeout');
  releaseUpload(core, round, bankId);
  await lose(core, bankId, `no update within the upload grant timeout (${ms} ms)`);
}
