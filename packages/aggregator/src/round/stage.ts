/**
 * A Stage: ask a set of banks one thing, collect the answers until every bank answered (or
 * dropped), or the quorum was reached and the grace period passed, or the deadline came; then
 * close with who answered, who dropped and why. Every stage of every workflow (fit, evaluate,
 * and the key-exchange and unmasking stages of secure aggregation) has this bookkeeping, so it
 * lives here once.
 *
 * Deterministic and free of IO: time comes in as `now` (ms on the aggregator's clock) with
 * every input, and `closesAt()` says when the caller's timer should call `tick`. Each answer,
 * drop and verdict is O(1) (sets and counters, never a scan of the asked banks), so a round
 * with 10,000 banks costs the same per bank as one with 10 (issue 14).
 */

export interface StagePolicy {
  /** Answers needed for the stage to succeed. 0 = whatever arrives by the deadline. */
  quorum: number;
  /** Once the quorum is reached, wait at most this long for the others (ms); null = until the deadline. */
  graceMs: number | null;
  /** Absolute time (ms) at which the stage closes whatever happened. */
  deadline: number;
}

/** Why a stage closed. */
export type StageClosure = 'all_answered' | 'grace_elapsed' | 'deadline' | 'quorum_unreachable' | 'abandoned';

export type Verdict = { accepted: true } | { accepted: false; reason: string };

export interface StageProgressView {
  asked: number;
  reported: number;
  dropped: number;
  reportedBanks: string[];
  closesInMs: number | null;
}

export class Stage {
  /** The banks asked, in the order they were asked (for stable reasons and views). */
  readonly asked: readonly string[];
  private readonly askedSet: ReadonlySet<string>;
  /** Banks that answered, in arrival order. */
  private readonly answeredList: string[] = [];
  private readonly answeredSet = new Set<string>();
  /** Asked banks that can no longer answer (lost, declined, sent something invalid), with the reason. */
  private readonly droppedReasons = new Map<string, string>();
  /**
   * Banks judged in time by an earlier message (a fit upload's offer, issue 14) whose answer is
   * still to come: they may answer after the stage's nominal close, and the stage stays open
   * until each of them answered or dropped (the caller bounds that wait: a grant timeout).
   */
  private readonly promisedSet = new Set<string>();
  private quorumReachedAt: number | null = null;
  private closure: StageClosure | null = null;
  private closedAt: number | null = null;

  constructor(
    /** For messages: "fit", "evaluate", "share keys", ... */
    readonly name: string,
    asked: readonly string[],
    readonly policy: StagePolicy,
    readonly openedAt: number,
  ) {
    this.asked = [...asked];
    this.askedSet = new Set(asked);
    if (policy.quorum <= 0) this.quorumReachedAt = openedAt;
    this.settle(openedAt);
  }

  get isOpen(): boolean {
    return this.closure === null;
  }
  /** Why the stage closed, or null while it is open. */
  get closedBy(): StageClosure | null {
    return this.closure;
  }
  get closedTime(): number | null {
    return this.closedAt;
  }
  /** True once closed with at least `quorum` answers. */
  get succeeded(): boolean {
    return this.closure !== null && this.answeredList.length >= this.policy.quorum;
  }
  get answered(): readonly string[] {
    return this.answeredList;
  }
  get answeredCount(): number {
    return this.answeredList.length;
  }
  get quorumAt(): number | null {
    return this.policy.quorum <= 0 ? null : this.quorumReachedAt;
  }
  /** Asked banks that neither answered nor dropped. */
  get pendingCount(): number {
    return this.askedSet.size - this.answeredSet.size - this.droppedReasons.size;
  }

  wasAsked(bankId: string): boolean {
    return this.askedSet.has(bankId);
  }
  hasAnswered(bankId: string): boolean {
    return this.answeredSet.has(bankId);
  }
  /** Why an asked bank dropped out, or undefined. */
  dropReason(bankId: string): string | undefined {
    return this.droppedReasons.get(bankId);
  }
  /** Every dropped bank with its reason, in the order they dropped. */
  get dropped(): ReadonlyMap<string, string> {
    return this.droppedReasons;
  }

  /** Banks whose answer was promised in time and has not come yet (see `promise`). */
  get promisedCount(): number {
    return this.promisedSet.size;
  }

  /**
   * When the caller's timer should call `tick`, or null while promised answers are pending: the
   * stage cannot close by time then, and the next answer or drop settles it (see `promise`).
   */
  wakeAt(): number | null {
    if (!this.isOpen) return null;
    return this.promisedSet.size > 0 ? null : this.closesAt();
  }

  /**
   * Judges `bankId` now and, if it may answer, promises it its answer: it may then answer after
   * the nominal close, and the stage waits for it (answer or drop). For a two-step answer whose
   * first step is judged on arrival (the fit upload's offer). O(1).
   */
  promise(bankId: string, now: number): Verdict {
    const v = this.judge(bankId, now);
    if (!v.accepted) return v;
    // A bank dropped earlier (e.g. declined) that offers after all is waited for again, as `answer` counts it.
    this.droppedReasons.delete(bankId);
    this.promisedSet.add(bankId);
    return v;
  }

  /** When the stage closes unless something else closes it first (ms). */
  closesAt(): number {
    if (this.closedAt !== null) return this.closedAt;
    const { graceMs, deadline } = this.policy;
    if (this.quorumReachedAt === null || graceMs === null) return deadline;
    return Math.min(deadline, this.quorumReachedAt + graceMs);
  }

  /**
   * Whether `bankId` may answer now. The caller validates the answer's content afterwards and
   * calls `answer` or `drop`.
   */
  judge(bankId: string, now: number): Verdict {
    if (!this.askedSet.has(bankId)) return { accepted: false, reason: `bank ${bankId} was not asked (${this.name})` };
    if (this.answeredSet.has(bankId))
      return { accepted: false, reason: `duplicate: ${bankId} already answered (${this.name})` };
    // A promised answer was judged in time when it was promised.
    if (this.isOpen && this.promisedSet.has(bankId)) return { accepted: true };
    if (!this.isOpen || now > this.closesAt())
      return { accepted: false, reason: `late: the ${this.name} stage closed` };
    return { accepted: true };
  }

  /** Records an answer `judge` accepted and the caller found valid. */
  answer(bankId: string, now: number): void {
    if (!this.isOpen) throw new Error(`the ${this.name} stage is closed`);
    if (!this.askedSet.has(bankId) || this.answeredSet.has(bankId)) throw new Error(`${bankId} cannot answer twice`);
    // A bank dropped earlier (e.g. declined) that answers after all is counted as answered.
    this.droppedReasons.delete(bankId);
    const wasPromised = this.promisedSet.delete(bankId);
    this.answeredSet.add(bankId);
    this.answeredList.push(bankId);
    if (this.quorumReachedAt === null && this.answeredList.length >= this.policy.quorum) this.quorumReachedAt = now;
    this.settle(now);
    this.settlePromise(wasPromised, now);
  }

  /**
   * An asked bank can no longer answer. Ignored for banks not asked, already answered or already
   * dropped.
   */
  drop(bankId: string, reason: string, now: number): void {
    if (!this.isOpen || !this.askedSet.has(bankId) || this.answeredSet.has(bankId) || this.droppedReasons.has(bankId))
      return;
    this.droppedReasons.set(bankId, reason);
    const wasPromised = this.promisedSet.delete(bankId);
    this.settle(now);
    this.settlePromise(wasPromised, now);
  }

  /** Time passed: closes the stage at its grace end or deadline. */
  tick(now: number): void {
    if (this.isOpen && this.promisedSet.size === 0 && now >= this.closesAt())
      this.close(
        this.quorumReachedAt !== null && this.policy.quorum > 0 && now < this.policy.deadline
          ? 'grace_elapsed'
          : 'deadline',
        now,
      );
  }

  /** The workflow gave up on this stage (its result can no longer be used): closes it now. */
  abandon(now: number): void {
    if (this.isOpen) this.close('abandoned', now);
  }

  /** Closes the stage early when nothing more can change its outcome. */
  private settle(now: number): void {
    if (!this.isOpen) return;
    const pending = this.pendingCount;
    if (pending === 0 && this.askedSet.size > 0) return this.close('all_answered', now);
    if (this.askedSet.size === 0) return this.close('all_answered', now);
    // Waiting cannot help: not enough banks are left to reach the quorum.
    if (this.answeredList.length + pending < this.policy.quorum) this.close('quorum_unreachable', now);
  }

  /** The last promised answer came (or its bank dropped) after the nominal close: the stage closes now. */
  private settlePromise(wasPromised: boolean, now: number): void {
    if (wasPromised && this.promisedSet.size === 0) this.tick(now);
  }

  private close(why: StageClosure, now: number): void {
    this.closure = why;
    this.closedAt = now;
  }

  /** "k of n banks reported" for the dashboard; at most 50 bank ids. */
  progress(now: number): StageProgressView {
    const closes = this.isOpen ? this.closesAt() : null;
    return {
      asked: this.askedSet.size,
      reported: this.answeredList.length,
      dropped: this.droppedReasons.size,
      reportedBanks: this.answeredList.slice(0, 50),
      closesInMs: closes === null || !Number.isFinite(closes) ? null : Math.max(0, closes - now),
    };
  }
}
