/**
 * Runs analytics jobs: one at a time, never while a training round is in flight (a job
 * requested during a round waits for it to end, and no round starts while a job runs), each
 * stage over the generic Stage (round/stage.ts) with the connected banks, answers handed to
 * the job's pure accumulate/close (segmentation.ts, calibration.ts). IO lives here only:
 * frames, one timer, the store, audit entries.
 *
 * Every step runs on this runner's own serial queue. A job that throws is failed with the
 * reason, never left running; a bank that disconnects, declines, answers late or sends
 * something invalid is dropped from the stage with the reason, which the stored job shows.
 */
import { AnalyticsClientMessage, decodeFrame, encodeFrame, type AnalyticsResult } from '@finsecure/common/protocol';
import { Stage } from '../../round/stage.js';
import { CalibrationJob } from './calibration.js';
import { CalibrationParams, SegmentationParams } from './params.js';
import { SegmentationJob } from './segmentation.js';
import { SecureSumsJob } from './secure-sums.js';
import { JobParamsError, JobRefused, type JobHost, type JobKind, type JobKindName, type JobRecord } from './types.js';
import { armDeadline } from '../clock.js';

/** Analytics answers are aggregates of a few thousand numbers at most. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

interface Running {
  record: JobRecord;
  kind: JobKind;
  stage: Stage | null;
  stageIndex: number;
  timer: unknown;
}

export class JobRunner {
  private queue: Promise<void> = Promise.resolve();
  private readonly waiting: JobRecord[] = [];
  private running: Running | null = null;
  private nextId = 1;
  private closed = false;
  /** Set while a late stage timer waits for the sockets to be read: the deadline it was due at (ms). */
  heldSince: number | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly host: JobHost) {}

  /** Fails jobs a restart interrupted. */
  async init(): Promise<void> {
    const all = await this.host.store.listJobs({ limit: 10_000 });
    this.nextId = Math.max(0, ...all.map((j) => j.id)) + 1;
    for (const j of all.filter((x) => x.status === 'queued' || x.status === 'running')) {
      await this.host.store.saveJob({
        ...j,
        status: 'failed',
        endedAt: this.host.clock.now(),
        failureReason: 'aggregator restarted',
      });
    }
  }

  /**
   * Listens for round ends and bank disconnects while a job waits or runs, and only then: a
   * listener makes the federation build its live events (a copy of the round record, the status,
   * every bank's view at a round's end), which with no job and no dashboard open nobody reads.
   */
  private listen(): void {
    if (this.unsubscribe || this.closed) return;
    this.unsubscribe = this.host.subscribe((e) => {
      if (e.type === 'status' && !this.running && this.waiting.length) this.kick();
      if (e.type === 'bank' && !e.bank.connected) this.bankLeft(e.bank.id);
    });
  }

  private stopListening(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening();
    await this.enqueue(async () => {
      if (this.running) await this.fail(this.running, 'aggregator shut down');
    });
  }

  /**
   * Queues a job. Throws JobParamsError (bad parameters, 400) or JobRefused (secure
   * aggregation on without `allowPlaintext`, 409). The job starts when no round is in flight.
   */
  request(kind: JobKindName, raw: unknown, actor: string): Promise<JobRecord> {
    const schema = kind === 'segmentation' ? SegmentationParams : CalibrationParams;
    const parsed = schema.safeParse(raw ?? {});
    if (!parsed.success)
      return Promise.reject(
        new JobParamsError(parsed.error.issues.map((i) => `${i.path.join('.') || kind}: ${i.message}`).join('; ')),
      );
    // A segmentation's sums go through secure aggregation when it is on (secure-sums.ts); a
    // calibration's histogram has no secure path yet and runs in the clear only when asked to.
    if (kind === 'calibration' && this.host.secureAggregation() && !parsed.data.allowPlaintext)
      return Promise.reject(
        new JobRefused(
          'secure aggregation is on (rules.secureAggregation) and a calibration sends its score histogram in the clear; ' +
            'pass "allowPlaintext": true to run it anyway, or turn secure aggregation off',
        ),
      );
    return this.enqueue(async () => {
      const record: JobRecord = {
        id: this.nextId++,
        kind,
        status: 'queued',
        requestedBy: actor,
        requestedAt: this.host.clock.now(),
        startedAt: null,
        endedAt: null,
        params: parsed.data as Record<string, unknown>,
        stages: [],
        result: null,
        failureReason: null,
      };
      await this.host.store.saveJob(record);
      this.waiting.push(record);
      this.listen();
      this.kick();
      return record;
    });
  }

  /** A frame the bank socket recognised as analytics (isAnalyticsFrame). Never throws. */
  onFrame(bankId: string, bytes: Uint8Array): Promise<void> {
    // Read just after a hold of the event loop past the stage's deadline: it came during the hold.
    const now = this.host.clock.now();
    const receivedAt = this.heldSince !== null ? Math.min(now, this.heldSince) : now;
    return this.enqueue(async () => {
      const r = this.running;
      const stage = r?.stage;
      // Only a bank this stage asked and still waits for costs a decode.
      if (!r || !stage || !stage.isOpen || !stage.wasAsked(bankId) || stage.hasAnswered(bankId)) return;
      if (stage.dropReason(bankId) !== undefined) return;
      let msg: AnalyticsClientMessage;
      try {
        msg = decodeFrame(bytes, AnalyticsClientMessage, { maxBytes: MAX_ANSWER_BYTES }).msg;
      } catch (err) {
        stage.drop(bankId, `invalid answer: ${(err as Error).message}`.slice(0, 300), receivedAt);
        return this.afterInput(r);
      }
      if (msg.jobId !== r.record.id || msg.stageIndex !== r.stageIndex) return; // an earlier stage's, late
      const verdict = stage.judge(bankId, receivedAt);
      if (!verdict.accepted) return;
      if (msg.type === 'analytics_decline') stage.drop(bankId, `declined: ${msg.reason}`, receivedAt);
      else {
        const refused = r.kind.accept(bankId, msg.answer);
        if (refused === null) stage.answer(bankId, receivedAt);
        else stage.drop(bankId, `refused: ${refused}`, receivedAt);
      }
      await this.afterInput(r);
    });
  }

  private bankLeft(bankId: string): void {
    void this.enqueue(async () => {
      const r = this.running;
      if (!r?.stage?.isOpen) return;
      r.stage.drop(bankId, 'disconnected', this.host.clock.now());
      await this.afterInput(r);
    });
  }

  private enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      (err: unknown) => this.recover(err),
    );
    return run;
  }

  /** A step threw: fail the running job with the reason (never leave it running). */
  private async recover(err: unknown): Promise<void> {
    if (err instanceof JobParamsError || err instanceof JobRefused) return;
    this.host.logger.error({ err }, 'analytics job step failed');
    const r = this.running;
    if (r) await this.fail(r, `internal error: ${(err as Error).message}`).catch(() => {});
  }

  /** Starts the next queued job if none runs and no training round is in flight. */
  private kick(): void {
    void this.enqueue(async () => {
      if (this.closed || this.running || this.waiting.length === 0) return;
      // A round in flight: the status event at its end calls kick() again.
      if (!(await this.host.holdRounds())) return;
      const record = this.waiting.shift()!;
      const p = record.params;
      const kind: JobKind =
        record.kind === 'segmentation' ? this.segmentation(record) : new CalibrationJob(p as CalibrationParams);
      const r: Running = { record, kind, stage: null, stageIndex: -1, timer: null };
      this.running = r;
      record.status = 'running';
      record.startedAt = this.host.clock.now();
      await this.host.store.saveJob(record);
      await this.host.audit('job.started', record.requestedBy, { jobId: record.id, kind: record.kind, params: p });
      this.host.logger.info({ jobId: record.id, kind: record.kind }, 'analytics job started');
      await this.advance(r);
    });
  }

  /** A segmentation, its sums secure when secure aggregation is on (unless the admin allowed plaintext). */
  private segmentation(record: JobRecord): JobKind {
    const params = record.params as SegmentationParams;
    const job = new SegmentationJob(params);
    if (!this.host.secureAggregation() || params.allowPlaintext) return job;
    const rules = this.host.secaggRules();
    return new SecureSumsJob(
      job,
      {
        identities: (banks) => this.host.identities(banks),
        connectedBanks: () => this.host.connectedBanks(),
        threshold: rules.threshold,
        degree: rules.degree,
      },
      record.id,
    );
  }

  /** Opens the job's next stage, or ends the job. */
  private async advance(r: Running): Promise<void> {
    const step = r.kind.next();
    if (step.type === 'fail') return this.fail(r, step.reason);
    if (step.type === 'done') return this.complete(r, step.result, step.outcome);
    const now = this.host.clock.now();
    const connected = new Set(this.host.connectedBanks());
    const asked = r.kind.participants
      ? [...r.kind.participants].filter((b) => connected.has(b)).sort()
      : [...connected].sort();
    if (asked.length === 0)
      return this.fail(r, `no bank to ask for the ${step.stage.name} stage (none connected or none left in the job)`);
    r.stageIndex++;
    const deadline = now + step.stage.timeoutMs;
    r.stage = new Stage(step.stage.name, asked, { quorum: 1, graceMs: null, deadline }, now);
    const request = (task: typeof step.stage.task) =>
      encodeFrame({
        type: 'analytics_request',
        jobId: r.record.id,
        stageIndex: r.stageIndex,
        stage: step.stage.name,
        deadlineInMs: step.stage.timeoutMs,
        task,
      });
    // One frame for all, unless each bank gets its own part (a secure sum's keys and envelopes).
    const taskFor = step.stage.taskFor;
    const frame = taskFor ? null : request(step.stage.task);
    for (const b of asked) this.host.send(b, frame ?? request(taskFor!(b)));
    this.armTimer(r);
  }

  private armTimer(r: Running): void {
    const { clock } = this.host;
    clock.clearTimeout(r.timer);
    if (!r.stage?.isOpen) return;
    const stage = r.stage;
    // Late (the event loop held past the deadline): the answers that came during the hold are read
    // first and count as arriving at the deadline (onFrame), as the rounds' frames do (runner.ts).
    r.timer = armDeadline(
      clock,
      stage.closesAt(),
      this,
      () =>
        void this.enqueue(async () => {
          if (this.closed || this.running !== r || r.stage !== stage) return;
          stage.tick(clock.now());
          await this.afterInput(r);
        }),
    );
  }

  /** After an answer, drop or tick: when the stage closed, hand it to the job and go on. */
  private async afterInput(r: Running): Promise<void> {
    const stage = r.stage;
    if (!stage || stage.isOpen || this.running !== r) return;
    this.host.clock.clearTimeout(r.timer);
    r.stage = null;
    r.record.stages.push({
      name: stage.name,
      asked: [...stage.asked],
      answered: [...stage.answered],
      dropped: Object.fromEntries(stage.dropped),
      closedBy: stage.closedBy ?? 'deadline',
      openedAt: stage.openedAt,
      closedAt: stage.closedTime ?? this.host.clock.now(),
    });
    // Banks asked that neither answered nor declined by the deadline are dropped too.
    const dropped = new Map(stage.dropped);
    for (const b of stage.asked)
      if (!stage.hasAnswered(b) && !dropped.has(b)) dropped.set(b, `no answer by the ${stage.name} deadline`);
    r.record.stages[r.record.stages.length - 1]!.dropped = Object.fromEntries(dropped);
    await r.kind.close(stage.answered, dropped);
    await this.host.store.saveJob(r.record);
    await this.advance(r);
  }

  private async complete(
    r: Running,
    result: Record<string, unknown>,
    outcome: AnalyticsResult['result'] | null,
  ): Promise<void> {
    const rec = r.record;
    rec.status = 'completed';
    rec.result = result;
    rec.endedAt = this.host.clock.now();
    await this.host.store.saveJob(rec);
    await this.host.audit('job.completed', 'system', { jobId: rec.id, kind: rec.kind, summary: summary(rec) });
    this.host.logger.info({ jobId: rec.id, kind: rec.kind }, 'analytics job completed');
    if (outcome) {
      const frame = encodeFrame({ type: 'analytics_result', jobId: rec.id, result: outcome });
      for (const b of r.kind.participants ?? []) this.host.send(b, frame);
    }
    await this.end(r);
  }

  private async fail(r: Running, reason: string): Promise<void> {
    const rec = r.record;
    this.host.clock.clearTimeout(r.timer);
    rec.status = 'failed';
    rec.failureReason = reason.slice(0, 2000);
    rec.endedAt = this.host.clock.now();
    await this.host.store.saveJob(rec);
    await this.host.audit('job.failed', 'system', { jobId: rec.id, kind: rec.kind, reason: rec.failureReason });
    this.host.logger.warn({ jobId: rec.id, reason }, 'analytics job failed');
    await this.end(r);
  }

  private async end(r: Running): Promise<void> {
    if (this.running === r) this.running = null;
    await this.host.releaseRounds();
    if (this.waiting.length) this.kick();
    else this.stopListening();
  }
}

/** A short audit summary of a completed job (the stored record has everything). */
function summary(rec: JobRecord): Record<string, unknown> {
  const r = rec.result ?? {};
  if (rec.kind === 'calibration') return { threshold: r.threshold, contamination: r.contamination, banks: r.banks };
  const privacy = r.privacy as { maxEpsilon?: number } | undefined;
  return { k: r.k, iterations: r.iterations, converged: r.converged, maxEpsilon: privacy?.maxEpsilon ?? 0 };
}
