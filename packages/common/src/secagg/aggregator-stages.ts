/**
 * The aggregator's bookkeeping of the stages of one SecAgg+ round: which stage is
 * collecting answers, who is asked and who answered, the stage reports, why the round
 * failed, and whether it may go on when a stage closes. aggregator.ts keeps and checks
 * what the answers carry (keys, envelopes, the masked sum, signatures, shares); this
 * only decides who may answer when. That way the dropout rule lives in one place.
 *
 * Dropout rule: when a stage closes, every bank whose secret may have to be
 * reconstructed (the live banks before masked fit; everyone who shared keys, U2, after)
 * must still have t live members in its neighbourhood, or the round fails with a
 * SecAggError('threshold_not_met') naming the stage and those banks.
 */
import { compareBankIds, listBanks, SecAggError, SECAGG_STAGES, type SecAggStage } from './errors.js';
import type { RoundSetup } from './params.js';

export interface StageReport {
  stage: SecAggStage;
  /** Banks asked in this stage (the live banks after the previous one). */
  asked: string[];
  answered: string[];
  dropped: string[];
}

export class RoundStages {
  private readonly setup: RoundSetup;
  private stageIndex = 0;
  private failure: SecAggError | null = null;
  private readonly reports: StageReport[] = [];
  /** Banks that may answer the current stage, and who did. */
  private asked: Set<string>;
  private answered = new Set<string>();

  constructor(setup: RoundSetup) {
    this.setup = setup;
    this.asked = new Set(setup.participants);
  }

  private get roundId(): string {
    return this.setup.params.roundId;
  }

  /** The stage now collecting answers, or 'done' / 'failed'. */
  get stage(): SecAggStage | 'done' | 'failed' {
    if (this.failure) return 'failed';
    return SECAGG_STAGES[this.stageIndex] ?? 'done';
  }

  /** The reason the round failed, if it did. */
  get failed(): SecAggError | null {
    return this.failure;
  }

  /** Marks the round failed after the last stage closed (a secret that did not reconstruct). */
  failWith(err: SecAggError): void {
    this.failure = err;
  }

  /** Who is asked in the current stage (sorted). */
  banksToAsk(): string[] {
    return [...this.asked].sort(compareBankIds);
  }

  /** Stage reports so far (also after a failure). */
  stageReports(): StageReport[] {
    return [...this.reports];
  }

  /** Checks round, stage and sender of an answer; returns the bank id. */
  accept(roundId: string, stage: SecAggStage, bank: string): string {
    if (roundId !== this.roundId) {
      throw new SecAggError(
        'wrong_round',
        `${bank}'s ${stage} message is for round ${roundId}, this is round ${this.roundId} (replayed or cross-round)`,
        { stage, banks: [bank] },
      );
    }
    this.expectStage(stage, `a ${stage} message from ${bank}`);
    if (!this.asked.has(bank)) {
      throw new SecAggError(
        'protocol_violation',
        `${bank} was not asked in ${stage} (not live after the previous stage)`,
        {
          stage,
          banks: [bank],
        },
      );
    }
    if (this.answered.has(bank)) {
      throw new SecAggError('out_of_order', `${bank} already answered ${stage} (duplicate or replay)`, {
        stage,
        banks: [bank],
      });
    }
    return bank;
  }

  /** Counts `bank` as having answered the current stage; called once its answer was checked and kept. */
  answer(bank: string): void {
    this.answered.add(bank);
  }

  expectStage(stage: SecAggStage, what: string): void {
    if (this.failure) throw this.failure;
    const now = this.stage;
    if (now !== stage) {
      throw new SecAggError('out_of_order', `${what} arrived during ${now}, expected during ${stage}`, { stage });
    }
  }

  /**
   * Closes `stage` and applies the dropout rule. `u2` is the set of banks that shared keys,
   * null until share keys has closed.
   */
  close(stage: SecAggStage, u2: ReadonlySet<string> | null): StageReport {
    this.expectStage(stage, `closing ${stage}`);
    const asked = [...this.asked].sort(compareBankIds);
    const answered = asked.filter((b) => this.answered.has(b));
    const report: StageReport = { stage, asked, answered, dropped: asked.filter((b) => !this.answered.has(b)) };
    this.reports.push(report);
    const live = new Set(answered);
    const t = this.setup.params.threshold;
    // Before masked fit, only live banks matter; from then on, every bank that shared keys.
    const relevant = u2 ? [...u2] : answered;
    const short = relevant
      .map((b) => ({ b, n: this.setup.graph.get(b)!.filter((x) => live.has(x)).length }))
      .filter(({ n }) => n < t);
    if (short.length || answered.length < t) {
      const who = short.length ? short.map(({ b, n }) => `${b} (${n})`).join(', ') : `all (${answered.length} live)`;
      throw this.fail(
        'threshold_not_met',
        `fewer than t = ${t} live neighbours remain for ${who}; dropped in this stage: ${listBanks(report.dropped)}`,
        short.length ? short.map(({ b }) => b) : report.dropped,
        stage,
      );
    }
    this.asked = live;
    this.answered = new Set();
    this.stageIndex++;
    return report;
  }

  /** An error about `bank`'s answer, tagged with the current stage; the round goes on. */
  reject(code: SecAggError['code'], message: string, bank?: string): SecAggError {
    return new SecAggError(code, message, {
      ...(this.stage !== 'done' && this.stage !== 'failed' ? { stage: this.stage } : {}),
      banks: bank ? [bank] : [],
    });
  }

  private fail(
    code: SecAggError['code'],
    message: string,
    banks: string[],
    stage: SecAggStage = 'unmask',
  ): SecAggError {
    this.failure = new SecAggError(code, message, { stage, banks });
    return this.failure;
  }
}
