/**
 * When the bank daemon sends its own heartbeat. The aggregator closes a bank it has heard
 * nothing from for its heartbeat timeout (default 20 s, four intervals): any frame counts, so a
 * bank that sent its update, its evaluation or an offer since the previous tick is known to be
 * alive and a heartbeat would be one more frame for the aggregator to read. At 10,000 banks a
 * round lasts about 10 s, and one heartbeat per bank per 5 s interval was some 2,000 frames a
 * second read by the aggregator in the middle of the round (issue 14 item 1). An idle bank still
 * beats every interval, so the aggregator hears from a bank at least every two intervals.
 *
 * The same tick gives up on a silent aggregator: a half-open TCP connection never closes by
 * itself, and the aggregator writes to an idle bank at least every two intervals (its sweep,
 * aggregator federation/sessions.ts), so four intervals and 2 s of silence mean it is gone.
 */
export type HeartbeatAction = 'beat' | 'skip' | 'give-up';

export class HeartbeatPolicy {
  private sentSinceTick = false;

  /** @param intervalMs the aggregator's heartbeat interval (its welcome), ms. */
  constructor(private readonly intervalMs: number) {}

  /** This bank sent a frame other than its heartbeat. */
  sent(): void {
    this.sentSinceTick = true;
  }

  /**
   * What to do at a timer tick (every `intervalMs`), at `now` (ms), when the aggregator was last
   * heard from at `lastFromServer` (ms, same clock): 'give-up' after 4 intervals + 2 s of silence,
   * else 'beat' when this bank sent nothing (but heartbeats) since the previous tick, else 'skip'.
   */
  tick(now: number, lastFromServer: number): HeartbeatAction {
    if (now - lastFromServer > 4 * this.intervalMs + 2_000) return 'give-up';
    const sent = this.sentSinceTick;
    this.sentSinceTick = false;
    return sent ? 'skip' : 'beat';
  }
}

/** A connection's running heartbeat: tell it of every other frame sent, stop it when the connection ends. */
export interface RunningHeartbeat {
  sent(): void;
  stop(): void;
}

/**
 * Starts a connection's heartbeat timer (every `intervalMs`, the welcome's), driven by a
 * HeartbeatPolicy: `io.beat()` sends the heartbeat, `io.giveUp()` drops the silent connection
 * (the timer then stops by itself), `io.lastFromServer()` is when the aggregator last spoke (ms).
 */
export function startHeartbeat(
  intervalMs: number,
  io: { lastFromServer(): number; beat(): void; giveUp(): void },
): RunningHeartbeat {
  const policy = new HeartbeatPolicy(intervalMs);
  const timer = setInterval(() => {
    const action = policy.tick(Date.now(), io.lastFromServer());
    if (action === 'give-up') {
      clearInterval(timer);
      io.giveUp();
    } else if (action === 'beat') io.beat();
  }, intervalMs);
  return { sent: () => policy.sent(), stop: () => clearInterval(timer) };
}
