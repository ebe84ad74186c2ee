/**
 * Lockouts for usernames that have no account. A sign-in to an unknown name was already refused
 * with a wrong password's answer and time (a dummy hash), but the sixth attempt told them apart:
 * an account answered 429 "locked", an unknown name 401 for ever, so five wrong passwords listed
 * who has an account (user enumeration; OWASP ASVS 4.0 §2.2.1 and the Authentication Cheat
 * Sheet's "same response"). Unknown names therefore count failures and lock by the same policy.
 *
 * They have no record to keep the count in, so it lives in memory, bounded: at most `maxNames`
 * names; when it is full, an unlocked name with the fewest failures is forgotten first
 * (victim()). A restart forgets them, as a lockout window would; an attacker who could restart
 * the aggregator has no need to probe names.
 *
 * Pure: time is passed in.
 */
import type { LockoutPolicy } from './deps.js';

interface Entry {
  failures: number;
  lockedUntil: number | null;
}

/** Names remembered at most (about 100 bytes each). */
export const MAX_UNKNOWN_NAMES = 10_000;

export class UnknownNameLockouts {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxNames = MAX_UNKNOWN_NAMES) {}

  /** When `name`'s lock ends (ms), or null when it is not locked at `now` (ms). */
  lockedUntil(name: string, now: number): number | null {
    const until = this.entries.get(name)?.lockedUntil ?? null;
    return until !== null && until > now ? until : null;
  }

  /**
   * Counts one failed sign-in to `name` at `now` (ms), as countFailure does for an account: at
   * `policy.maxFailures` the name is locked for `policy.lockMs` and its count starts again.
   * Returns the failures counted (the one that locked included) and whether it locked now.
   */
  fail(name: string, now: number, policy: LockoutPolicy): { failures: number; locked: boolean } {
    const e = this.entries.get(name) ?? { failures: 0, lockedUntil: null };
    // Most recently failed last (victim() breaks ties by this order).
    this.entries.delete(name);
    const failures = e.failures + 1;
    const locked = failures >= policy.maxFailures;
    this.entries.set(name, {
      failures: locked ? 0 : failures,
      lockedUntil: locked ? now + policy.lockMs : e.lockedUntil,
    });
    if (this.entries.size > this.maxNames) this.entries.delete(this.victim(now, name));
    return { failures, locked };
  }

  /**
   * The name to forget when the table is full, other than `keep` (the one just counted): an
   * unlocked name before a locked one, the fewest failures first, then the least recently failed;
   * among locked ones, the lock that ends first. Forgetting a lock or a count is what a prober
   * wants (an account keeps both): flushing a locked name, or one with four failures, takes
   * 10,000 names with at least as many failures each, every failure an argon2id hash, rather than
   * 10,000 single tries.
   */
  private victim(now: number, keep: string): string {
    let best: string | undefined;
    let bestRank = Infinity;
    for (const [name, e] of this.entries) {
      if (name === keep) continue;
      const rank = e.lockedUntil !== null && e.lockedUntil > now ? 1e15 + e.lockedUntil : e.failures;
      // Map order is least recently failed first: on a tie the earlier entry stays the choice.
      if (rank < bestRank) {
        best = name;
        bestRank = rank;
      }
    }
    return best ?? keep;
  }

  /** Names remembered (for tests). */
  get size(): number {
    return this.entries.size;
  }
}
