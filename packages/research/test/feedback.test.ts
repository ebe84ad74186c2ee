/**
 * The feedback experiment (src/feedback): false positives at a fixed recall against a
 * hand count, the analyst's queue order, and the harness on tiny synthetic data: both arms
 * start equal, the oracle's labels reach the next rounds' training through the bank
 * client's FeedbackSource (one per reviewed transaction, DEFAULT_FEEDBACK_WEIGHT copies),
 * and the arm without feedback never trains on them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_FEEDBACK_WEIGHT } from '@finsecure/bank-client';
import { prepareExperiment } from '../src/experiment.js';
import { falsePositivesAtRecall, topK } from '../src/feedback/metrics.js';
import { runFeedbackExperiment } from '../src/feedback/harness.js';
import { feedbackMarkdown } from '../src/feedback/report.js';
import { RESEARCH_TRAINING } from '../src/training.js';
import { feedbackCommand } from '../src/commands/feedback.js';
import { runMain } from '../src/cli-support.js';

const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-feedback-harness-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('false positives at a fixed recall', () => {
  it('counts the legitimate rows flagged at the first threshold reaching the recall (ties together)', () => {
    // Sorted: 0.9 F, 0.8 L, 0.7 F, 0.6 L, 0.6 F, 0.5 F, 0.1 L   (4 frauds)
    const scores = [0.6, 0.9, 0.1, 0.7, 0.8, 0.6, 0.5];
    const labels = [0, 1, 0, 1, 0, 1, 1];
    // Recall 0.5 = 2 frauds: reached at 0.7 with one false positive (0.8).
    expect(falsePositivesAtRecall(scores, labels, 0.5)).toMatchObject({
      falsePositives: 1,
      truePositives: 2,
      threshold: 0.7,
      recall: 0.5,
      precision: 2 / 3,
      falsePositiveRate: 1 / 3,
    });
    // Recall 0.75 = 3 frauds: the tie at 0.6 brings one fraud and one legitimate row together.
    expect(falsePositivesAtRecall(scores, labels, 0.75)).toMatchObject({ falsePositives: 2, truePositives: 3 });
    expect(falsePositivesAtRecall(scores, labels, 1)).toMatchObject({ falsePositives: 2, threshold: 0.5 });
    expect(() => falsePositivesAtRecall([1, 2], [0, 0], 0.8)).toThrow(/no fraud/);
    expect(() => falsePositivesAtRecall([1], [1], 0)).toThrow(/target recall/);
    expect(() => falsePositivesAtRecall([1], [1, 0], 0.5)).toThrow(/1 scores but 2 labels/);
  });

  it('orders the review queue by score, ties by position', () => {
    expect(topK([0.2, 0.9, 0.5, 0.9, 0.1], 3)).toEqual([1, 3, 2]);
    expect(topK([0.2], 5)).toEqual([0]);
  });
});

describe('the feedback harness on tiny synthetic data', () => {
  it('feeds the oracle labels into the next rounds through the bank client, and only with feedback', async () => {
    const exp = await prepareExperiment({
      synthetic: 3000,
      fraudRate: 0.05,
      seed: 7,
      banks: 2,
      scheme: 'iid',
      split: 'stratified',
    });
    const rounds = 3;
    const reviews = 5;
    const settings = {
      ...RESEARCH_TRAINING,
      epochs: 1,
      smoteMaxMultiplier: null,
      rounds,
      reviewsPerRound: reviews,
      weight: DEFAULT_FEEDBACK_WEIGHT,
      streamFraction: 0.3,
      recall: 0.8,
      backend: 'wasm' as const,
    };
    const result = await runFeedbackExperiment(exp, { ...settings, workDir: dir });
    const without = result.arms.without.rounds;
    const withFb = result.arms.with.rounds;
    expect(without).toHaveLength(rounds);
    expect(withFb).toHaveLength(rounds);
    // Round 1 trains before any review: both arms are the same model.
    expect(withFb[0]!.atRecall).toEqual(without[0]!.atRecall);
    expect(withFb[0]!.auprc).toBe(without[0]!.auprc);
    // Every round the oracle reviews k alerts per bank in both arms ...
    for (const r of [...without, ...withFb]) {
      expect(r.reviewed).toBe(2 * reviews);
      expect(r.confirmed).toBeGreaterThanOrEqual(0);
      expect(r.confirmed).toBeLessThanOrEqual(r.reviewed);
    }
    // ... but only with feedback do its labels train the next rounds, each once, weight copies.
    expect(without.map((r) => r.feedbackLabels)).toEqual([0, 0, 0]);
    expect(withFb.map((r) => r.feedbackLabels)).toEqual([0, 2 * reviews, 4 * reviews]);
    expect(withFb.map((r) => r.feedbackRows)).toEqual(
      [0, 2 * reviews, 4 * reviews].map((n) => n * DEFAULT_FEEDBACK_WEIGHT),
    );
    // Labels change the model from round 2 on.
    expect(withFb[1]!.auprc).not.toBe(without[1]!.auprc);
    for (const b of result.banks) {
      expect(b.trainRows + b.streamRows).toBe(exp.shards[b.bank - 1]!.numRows);
      expect(b.perRound).toBe(Math.floor(b.streamRows / rounds));
    }
    const md = feedbackMarkdown({
      kind: 'feedback',
      version: 1,
      createdAt: 'now',
      experiment: null,
      settings,
      runs: [{ seed: 7, result }],
    });
    expect(md).toContain('| round | without | with | labels in training (with) |');
    expect(md).toContain(`| 3 | ${without[2]!.atRecall.falsePositives} | ${withFb[2]!.atRecall.falsePositives} | 20 |`);
  }, 60_000);

  it('refuses shards too small to give every round new transactions', async () => {
    const exp = await prepareExperiment({
      synthetic: 400,
      fraudRate: 0.1,
      seed: 1,
      banks: 2,
      scheme: 'iid',
      split: 'stratified',
    });
    await expect(
      runFeedbackExperiment(exp, {
        ...RESEARCH_TRAINING,
        smoteMaxMultiplier: null,
        rounds: 1000,
        reviewsPerRound: 1,
        weight: 3,
        streamFraction: 0.1,
        recall: 0.8,
        workDir: dir,
        backend: 'wasm',
      }),
    ).rejects.toThrow(/bank 1 has \d+ rows: too few for 1000 rounds/);
  });

  it('npm run feedback writes feedback.json and feedback.md, one run per seed', async () => {
    const lines: string[] = [];
    const outDir = path.join(dir, 'cli');
    await runMain(feedbackCommand({ log: (l) => lines.push(l), interactive: false }), [
      'node',
      'feedback',
      '--synthetic',
      '2000',
      '--fraud-rate',
      '0.05',
      '--banks',
      '2',
      '--scheme',
      'iid',
      '--rounds',
      '2',
      '--reviews',
      '3',
      '--epochs',
      '1',
      '--seeds',
      '1,2',
      '--backend',
      'wasm',
      '--out',
      outDir,
    ]);
    expect(process.exitCode ?? 0).toBe(0);
    expect(
      lines.filter((l) =>
        /^seed \d: false positives at recall 0.8 after 2 rounds: \d+ without feedback, \d+ with \(6 labels\)$/.test(l),
      ),
    ).toHaveLength(2);
    const report = JSON.parse(readFileSync(path.join(outDir, 'feedback.json'), 'utf8')) as {
      runs: { seed: number }[];
      settings: { weight: number };
    };
    expect(report.runs.map((r) => r.seed)).toEqual([1, 2]);
    expect(report.settings.weight).toBe(DEFAULT_FEEDBACK_WEIGHT);
    expect(existsSync(path.join(outDir, 'feedback.md'))).toBe(true);
  }, 60_000);
});
