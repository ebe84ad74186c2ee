/**
 * When the bank daemon sends its own heartbeat. The aggregator closes a bank it has heard
 * nothing from for its heartbeat timeout (default 20 s, four 5 s intervals): any frame of the
 * rounds counts, so a bank that sent its update, its evaluation or an offer since the previous
 * tick is known to be alive, and a heartbeat would be one more frame for the aggregator to read.
 * At 10,000 banks a round lasts about 10 s, and one heartbeat per bank per interval was some
 * 19,000 frames a round for the aggregator to read (issue 14 item 1).
 *
 * Skipping makes a bank silent for up to two intervals (a frame just after a tick, none until
 * the tick after next), so a bank skips only when the aggregator's welcome says its timeout is at
 * least four intervals (the default; two more than skipping needs, for a bank busy with its own
 * work); with an older aggregator (no timeout in its welcome) or a tighter one
 * it beats every interval, as before. Analytics frames do not stand in for a beat: aggregators
 * before they counted as word from the bank did not count them. An idle bank beats every interval.
 *
 * The same tick gives up on a silent aggregator: a half-open TCP connection never closes by
 * itself, and the aggregator writes to an idle bank at least every two intervals (its sweep,
 * aggregator federation/sessions.ts), so four intervals and 2 s of silence mean it is gone.
 */
export type HeartbeatAction = 'beat' | 'skip' | 'give-up';

/**
 * Whether sending a message of this type lets the bank skip its next beat: not the heartbeat
 * itself, and not an analytics message (`analytics_*`), which aggregators before they counted as
 * word from the bank did not count.
 */
export function standsInForBeat(type: string): boolean {
  return type !== 'heartbeat' && !type.startsWith('analytics_');
}

export class HeartbeatPolicy {
  private sentSinceTick = false;
  /** When the previous tick ran (ms), to tell a late one. */
  private lastTickAt: number | undefined;
  /** Whether the previous tick put off giving up (it ran late). */
  private postponed = false;
  /** Whether a tick may skip the beat: the aggregator waits at least four intervals. */
  readonly maySkip: boolean;

  /**
   * @param intervalMs the aggregator's heartbeat interval (its welcome), ms
   * @param timeoutMs the aggregator's heartbeat timeout (its welcome; absent from older ones), ms
   */
  constructor(
    private readonly intervalMs: number,
    timeoutMs?: number,
    /** When the ticks start (ms): the first tick is late, like any other, when it runs an interval late. */
    startedAt?: number,
  ) {
    this.maySkip = timeoutMs !== undefined && timeoutMs >= 4 * intervalMs;
    this.lastTickAt = startedAt;
  }

  /** This bank sent a frame that tells the aggregator it is alive, other than its heartbeat. */
  sent(): void {
    this.sentSinceTick = true;
  }

  /**
   * What to do at a timer tick (every `intervalMs`), at `now` (ms), when the aggregator was last
   * heard from at `lastFromServer` (ms, same clock): 'give-up' after 4 intervals + 2 s of silence
   * (unless this tick ran more than an interval late, the loop held: then at the next tick),
   * else 'skip' when skipping is allowed and this bank sent something (but heartbeats) since the
   * previous tick, else 'beat'.
   */
  tick(now: number, lastFromServer: number): HeartbeatAction {
    // A tick more than an interval late means this daemon's event loop was held (training, a big
    // file), and Node runs due timers before it reads the socket: the aggregator's frames of the
    // meantime are unread yet. Such a tick does not give up (once in a row at most); the next does.
    const behind = this.lastTickAt === undefined ? 0 : now - this.lastTickAt - this.intervalMs;
    const late = behind > this.intervalMs && !this.postponed;
    this.lastTickAt = now;
    this.postponed = false;
    if (now - lastFromServer > 4 * this.intervalMs + 2_000) {
      if (!late) return 'give-up';
      this.postponed = true;
    }
    const sent = this.sentSinceTick;
    this.sentSinceTick = false;
    return sent && this.maySkip ? 'skip' : 'beat';
  }
}

/** A connection's running heartbeat: tell it of the frames that stand in for a beat, stop it when the connection ends. */
export interface RunningHeartbeat {
  sent(): void;
  stop(): void;
}

/**
 * Starts a connection's heartbeat timer (every `intervalMs`, the welcome's; `timeoutMs` the
 * welcome's timeout, if it gave one), driven by a HeartbeatPolicy: `io.beat()` sends the
 * heartbeat, `io.giveUp()` drops the silent connection (the timer then stops by itself),
 * `io.lastFromServer()` is when the aggregator last spoke (ms).
 */
export function startHeartbeat(
  intervalMs: number,
  timeoutMs: number | undefined,
  io: { lastFromServer(): number; beat(): void; giveUp(): void },
): RunningHeartbeat {
  const policy = new HeartbeatPolicy(intervalMs, timeoutMs, Date.now());
  const timer = setInterval(() => {
    const action = policy.tick(Date.now(), io.lastFromServer());
    if (action === 'give-up') {
      clearInterval(timer);
      io.giveUp();
    } else if (action === 'beat') io.beat();
  }, intervalMs);
  return { sent: () => policy.sent(), stop: () => clearInterval(timer) };
}
