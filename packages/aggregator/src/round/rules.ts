/**
 * Round rules: how many banks, how long to wait, what counts as enough. Validated with
 * zod because admins change them at run time through the API.
 */
import { nominalTrimCount, STRATEGY_NAMES, trimCount, type StrategyName } from '@finsecure/common/strategy';
import { z } from 'zod';
import { DEFAULT_SECAGG_RULES, SECAGG_RULE_FIELDS } from './secagg-rules.js';
import { checkModes } from './modes.js';
import { QUARANTINE_HISTORY_ROUNDS } from '../reputation/quarantine.js';
import { DEFAULT_TRUST_RULES, TRUST_RULE_FIELDS } from '../trust/rules.js';

export const RoundRules = z
  .object({
    /** Rounds to run before training stops by itself (0 = until stopped). */
    rounds: z.number().int().min(0).max(1_000_000),
    /** Fraction of connected, eligible banks selected for each round. */
    fraction: z.number().gt(0).max(1),
    /** Connected banks needed before a round starts (and the minimum selected). */
    minBanks: z.number().int().min(1),
    /** Quorum: successful updates needed to aggregate (k of the n selected). */
    quorum: z.number().int().min(1),
    /** Fit-stage deadline, from the moment assignments are sent. */
    roundTimeoutMs: z.number().int().min(100).max(86_400_000),
    /** After quorum is reached, how long to keep waiting for the remaining selected banks. */
    graceMs: z.number().int().min(0).max(86_400_000),
    /** Evaluation-stage deadline. A round commits with whatever evaluations arrived. */
    evaluationTimeoutMs: z.number().int().min(100).max(86_400_000),
    /**
     * What happens to an update that arrives after the fit stage closed. 'reject': it is
     * refused with reason "late" and audited. (A future 'buffer' policy will carry late
     * updates into the next round with a staleness weight, for asynchronous FL.)
     */
    latePolicy: z.enum(['reject']),
    /**
     * Fit uploads granted at once (K of the pull protocol, federation/upload-slots.ts): banks
     * offer their update and send it only when granted, so at most K updates are in the
     * aggregator's memory at a time whatever the number of banks (about 2 × K × update bytes);
     * unless the round grants every upload in advance (`uploadPreGrantBytes`).
     */
    uploadSlots: z.number().int().min(1).max(10_000).default(4),
    /** A granted bank whose update has not arrived within this many ms is dropped from the stage. */
    uploadGrantTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /**
     * Bytes of updates the aggregator may hold at once without the pull protocol: when every
     * selected bank's update together (banks × (its largest frame + a decoded float32 copy)) is at
     * most this, the round assignment grants every upload in advance (`preGrantedUpload`), and banks
     * send their update without offering it first, which saves a round trip and two frames per bank
     * per round. 0: always offer. Default 16 MiB, half of what K = 4 slots may hold at 1M parameters
     * (2 × 4 × 4 MB); the MLP (16 KB updates, 36 KB counted) is pre-granted up to 455 banks.
     */
    uploadPreGrantBytes: z.number().int().min(0).max(1_073_741_824).default(16_777_216),
    /** Pause between rounds. */
    roundIntervalMs: z.number().int().min(0).max(3_600_000),
    /** Decision threshold for the precision/recall/F1 reported per round. */
    threshold: z.number().min(0).max(1),
    histogramBins: z.number().int().min(10).max(10_000),
    /**
     * Aggregation strategy. 'fedavg': example-weighted mean of the deltas (the options
     * below refine it). 'fedmedian': coordinate-wise median, robust to a minority of
     * hostile banks but blind to example counts, and it buffers every update. Defaulted
     * (like the four FedAvg options below) so that settings stored by earlier versions
     * still validate; those schema defaults are plain FedAvg, which is what such a
     * federation ran. New federations start from DEFAULT_RULES (DEFAULT_FEDAVG's options).
     */
    strategy: z.enum(STRATEGY_NAMES).default('fedavg'),
    /** Cap on any one bank's share of the FedAvg weight (1 = no cap). */
    maxShare: z.number().gt(0).max(1),
    /**
     * FedAvg: divide each delta by the bank's local step count before averaging (FedNova),
     * so that a bank moves the model in proportion to its data as in centralized training.
     * Recommended with unequal bank sizes; see packages/common/src/strategy/fedavg.ts.
     */
    normalizeSteps: z.boolean().default(false),
    /** FedAvg: weight banks by examples × (reported training loss)^q (q-FFL); 0 = examples only. */
    lossExponent: z.number().min(0).max(4).default(0),
    /** FedAvg: server learning rate η, global += η × averaged step (1 = plain FedAvg). */
    serverLearningRate: z.number().gt(0).max(10).default(1),
    /** FedAvg: server momentum β in [0, 1) (FedAvgM); 0 = none. */
    serverMomentum: z.number().min(0).lt(1).default(0),
    /**
     * Robust strategies (krum, multikrum, bulyan): f, the number of hostile banks a round
     * must tolerate. Krum needs at least 2f + 3 updates per round, Bulyan 4f + 3, so the
     * quorum must be that large. 0 = not used.
     */
    byzantineF: z.number().int().min(0).max(10_000).default(0),
    /** multikrum: how many of the lowest-scored updates to average; 0 = n − f (all but f). */
    multiKrumM: z.number().int().min(0).max(1_000_000).default(0),
    /** trimmed-mean: fraction β in [0, 0.5) of the values dropped from EACH end of every coordinate. */
    trimFraction: z.number().min(0).lt(0.5).default(0.1),
    /** centered-clipping: radius τ (L2 norm) around the previous aggregate that each update is clipped to. */
    clipRadius: z.number().gt(0).max(1e6).default(10),
    /** centered-clipping: clipping iterations per round. */
    clipIterations: z.number().int().min(1).max(100).default(1),
    /**
     * Any strategy: reject or clip an update whose L2 norm exceeds adaptiveNormK × the
     * round's median update norm (beside the fixed maxUpdateNorm). 0 = off; else ≥ 1.
     * Buffers the round's updates (banks × model float32).
     */
    adaptiveNormK: z
      .number()
      .max(1e6)
      .refine((k) => k === 0 || k >= 1, {
        error: (issue) =>
          `adaptiveNormK must be 0 (off) or >= 1 (below 1 it refuses honest banks), got ${String(issue.input)}`,
      })
      .default(0),
    /** What adaptiveNormK does to an update above the bound: 'reject' it (weight 0) or 'clip' it to the bound. */
    adaptiveNormAction: z.enum(['reject', 'clip']).default('reject'),
    /**
     * Largest L2 norm an update (delta) may have. Honest local training moves this MLP by
     * norms of about 0.1–20; a larger update is diverged or hostile and is rejected before
     * it can touch the global model.
     */
    maxUpdateNorm: z.number().positive(),
    /**
     * Leave out of rounds a bank whose health check warns (its feature statistics or training
     * loss depart from the consortium's; see federation/health.ts). Off by default: the warning
     * is shown and audited either way, and an admin decides.
     */
    excludeUnhealthyBanks: z.boolean().default(false),
    /** When a bank's DP budget would be exceeded: leave that bank out, or stop training. */
    privacyBudgetAction: z.enum(['exclude-bank', 'stop-training']),
    /**
     * Quarantine: a bank whose update the strategy excluded in this many consecutive committed
     * rounds is no longer selected until an admin lifts it (reputation/quarantine.ts). null = off.
     * At most QUARANTINE_HISTORY_ROUNDS: a streak is counted over that many rounds.
     */
    quarantineAfterExclusions: z
      .number()
      .int()
      .min(1)
      .max(QUARANTINE_HISTORY_ROUNDS, {
        error: (issue) =>
          `at most ${QUARANTINE_HISTORY_ROUNDS}, got ${String(issue.input)}: a streak of exclusions is counted over the last ${QUARANTINE_HISTORY_ROUNDS} rounds`,
      })
      .nullable()
      .default(null),
    ...SECAGG_RULE_FIELDS,
    /**
     * Evaluation gate: refuse to commit a candidate whose federated AUPRC is more than this below
     * the last committed model's (the round fails with that reason). null = off. Works with masked
     * updates too: it looks only at the evaluation.
     */
    maxAuprcDrop: z.number().min(0).max(1).nullable().default(null),
    ...TRUST_RULE_FIELDS,
  })
  // The messages say the values (the input of a refine on the object is the object): "quorum (7) cannot
  // exceed minBanks (5)" tells an operator which of the file, the environment and the flags to look at.
  .refine((r) => r.quorum <= r.minBanks, {
    error: (issue) => {
      const r = issue.input as { quorum: number; minBanks: number };
      return `quorum (${r.quorum}) cannot exceed minBanks (${r.minBanks}): a round could never reach it`;
    },
    path: ['quorum'],
  })
  .refine((r) => !(r.normalizeSteps && r.maxShare < 1), {
    error: (issue) =>
      `normalizeSteps cannot be combined with maxShare (${(issue.input as { maxShare: number }).maxShare}) < 1 ` +
      '(capping the weights of step-normalised deltas over-amplifies the smallest banks); set maxShare to 1 or ' +
      'normalizeSteps to false',
    path: ['normalizeSteps'],
  })
  .superRefine((r, ctx) => {
    const inUse = r.strategy !== 'fedavg' ? fedAvgOptionsInUse(r) : [];
    if (inUse.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['strategy'],
        message: `${
          r.strategy === 'fedmedian'
            ? 'the fedmedian strategy ignores example counts and takes no options'
            : `the ${r.strategy} strategy takes none of the FedAvg options`
        }; reset ${inUse.map((k) => `${k} (${String(r[k])} → ${String(PLAIN_FEDAVG[k])})`).join(', ')} or use fedavg`,
      });
    for (const issue of robustRuleIssues(r)) ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of checkModes(r)) ctx.addIssue({ code: 'custom', ...issue });
  });
export type RoundRules = z.infer<typeof RoundRules>;

type FedAvgRuleKeys = 'maxShare' | 'normalizeSteps' | 'lossExponent' | 'serverLearningRate' | 'serverMomentum';

/** The FedAvg options of the rules that differ from plain FedAvg. */
const PLAIN_FEDAVG: Record<FedAvgRuleKeys, number | boolean> = {
  maxShare: 1,
  normalizeSteps: false,
  lossExponent: 0,
  serverLearningRate: 1,
  serverMomentum: 0,
};
/**
 * The default FedAvg options, chosen by measurement over synthetic, ULB and handbook data
 * (bench/RESULTS.md, "Choosing the defaults"): step-normalised (FedNova), loss-weighted
 * (q-FFL, q = 0.5), server learning rate 0.3. The only setting of those measured whose
 * default demo does not lose AUPRC as rounds go on.
 */
export const DEFAULT_FEDAVG = {
  maxShare: 1,
  normalizeSteps: true,
  lossExponent: 0.5,
  serverLearningRate: 0.3,
  serverMomentum: 0,
} satisfies Record<FedAvgRuleKeys, number | boolean>;
/** Options another strategy ignores: left at plain FedAvg's values or at the defaults, they do not block it. */
function fedAvgOptionsInUse(r: Record<FedAvgRuleKeys, number | boolean>): FedAvgRuleKeys[] {
  return (Object.keys(PLAIN_FEDAVG) as FedAvgRuleKeys[]).filter(
    (k) => r[k] !== PLAIN_FEDAVG[k] && r[k] !== (DEFAULT_FEDAVG as Record<FedAvgRuleKeys, number | boolean>)[k],
  );
}

/** Robust-strategy rules, their value when unused, and the strategies that use them. */
type RobustRuleKeys = 'byzantineF' | 'multiKrumM' | 'trimFraction' | 'clipRadius' | 'clipIterations';
const ROBUST_RULES: Record<RobustRuleKeys, { unused: number; usedBy: readonly StrategyName[] }> = {
  byzantineF: { unused: 0, usedBy: ['krum', 'multikrum', 'bulyan'] },
  multiKrumM: { unused: 0, usedBy: ['multikrum'] },
  trimFraction: { unused: 0.1, usedBy: ['trimmed-mean'] },
  clipRadius: { unused: 10, usedBy: ['centered-clipping'] },
  clipIterations: { unused: 1, usedBy: ['centered-clipping'] },
};

/**
 * The preconditions of the robust strategies, as issues on the rules: options that the
 * chosen strategy would ignore, and a quorum too small for f (a round may aggregate as few
 * as `quorum` updates, and quorum ≤ minBanks).
 */
function robustRuleIssues(r: RoundRules): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  for (const [key, { unused, usedBy }] of Object.entries(ROBUST_RULES) as [
    RobustRuleKeys,
    (typeof ROBUST_RULES)[RobustRuleKeys],
  ][])
    if (r[key] !== unused && !usedBy.includes(r.strategy))
      issues.push({
        path: [key],
        message: `${key} ${r[key]} is used only by the ${usedBy.join(', ')} strategies, not ${r.strategy}; reset it to ${unused} or change strategy`,
      });
  if (r.adaptiveNormK === 0 && r.adaptiveNormAction !== 'reject')
    issues.push({
      path: ['adaptiveNormAction'],
      message: `adaptiveNormAction "${r.adaptiveNormAction}" has no effect while adaptiveNormK is 0 (off); set adaptiveNormK (e.g. 3) or reset adaptiveNormAction`,
    });
  const f = r.byzantineF;
  const need =
    r.strategy === 'bulyan' ? 4 * f + 3 : r.strategy === 'krum' || r.strategy === 'multikrum' ? 2 * f + 3 : 0;
  if (r.quorum < need)
    issues.push({
      path: ['byzantineF'],
      message: `${r.strategy} with byzantineF ${f} needs at least ${r.strategy === 'bulyan' ? '4f + 3' : '2f + 3'} = ${need} updates per round, but quorum is ${r.quorum} (minBanks ${r.minBanks}): raise quorum and minBanks to at least ${need}, or lower byzantineF`,
    });
  else if (r.strategy === 'multikrum' && r.multiKrumM > r.quorum - f)
    issues.push({
      path: ['multiKrumM'],
      message: `multiKrumM ${r.multiKrumM} exceeds quorum − byzantineF = ${r.quorum - f} (a round may aggregate only quorum ${r.quorum} updates and Multi-Krum keeps at most n − f); lower multiKrumM or raise quorum`,
    });
  if (r.strategy === 'trimmed-mean') {
    // The strategy's own counts (trimmed-mean.ts). trimCount grows with n, so a quorum from which
    // it trims trims from every larger round too; and it always keeps n − 2t ≥ 1 values.
    const beta = r.trimFraction;
    const q = r.quorum;
    const nominal = nominalTrimCount(beta, q);
    if (2 * nominal >= q)
      issues.push({
        path: ['trimFraction'],
        message: `trimFraction ${beta} is within rounding of 0.5: ⌊β × n⌋ = ${nominal} values from each end would leave none of a round of quorum ${q} updates (the trimmed mean keeps at least one); lower trimFraction (e.g. to 0.49)`,
      });
    else if (trimCount(beta, q) < 1) {
      const n = smallestTrimmedRound(beta);
      // 1/q rounded up (1/3 → 0.3334: 0.3333 × 3 would still trim nothing).
      const fix = Number.isFinite(n) ? [`raise quorum (and minBanks) to at least ${n}`] : [];
      if (q >= 3) fix.push(`${fix.length ? '' : 'raise '}trimFraction to at least ${Math.ceil(1e4 / q) / 1e4}`);
      issues.push({
        path: ['trimFraction'],
        message: `trimFraction ${beta} trims nothing from a round of quorum ${q} updates (⌊β × n⌋ = 0 values from each end); ${
          fix.length ? fix.join(' or ') : 'raise trimFraction, and quorum (and minBanks) to at least 3'
        }`,
      });
    }
  }
  return issues;
}

/**
 * The fewest updates from which the trimmed mean with fraction β drops a value from each end
 * (trimCount ≥ 1: ⌊β n⌋ ≥ 1 and n ≥ 3), or Infinity for β = 0. Bounded: a few steps from ⌈1/β⌉.
 */
function smallestTrimmedRound(beta: number): number {
  if (!(beta > 0)) return Infinity;
  let n = Math.max(3, Math.ceil(1 / beta) - 1);
  for (let step = 0; step < 3 && trimCount(beta, n) < 1; step++) n++;
  return n;
}

/**
 * The strategy the rules ask for, as the name and options `createStrategy` takes. The
 * federation rebuilds its strategy when this changes (and only then: a strategy may keep
 * state across rounds, such as server momentum or centered clipping's centre).
 */
export function strategySpec(r: RoundRules): { name: StrategyName; options: Record<string, unknown> } {
  const norm = r.adaptiveNormK > 0 ? { adaptiveNormK: r.adaptiveNormK, adaptiveNormAction: r.adaptiveNormAction } : {};
  switch (r.strategy) {
    case 'fedmedian':
      return { name: 'fedmedian', options: { ...norm } };
    case 'krum':
    case 'bulyan':
      return { name: r.strategy, options: { byzantineF: r.byzantineF, ...norm } };
    case 'multikrum':
      return { name: 'multikrum', options: { byzantineF: r.byzantineF, multiKrumM: r.multiKrumM, ...norm } };
    case 'trimmed-mean':
      return { name: 'trimmed-mean', options: { trimFraction: r.trimFraction, ...norm } };
    case 'centered-clipping':
      return {
        name: 'centered-clipping',
        options: { clipRadius: r.clipRadius, clipIterations: r.clipIterations, ...norm },
      };
    case 'fedavg':
      return {
        name: 'fedavg',
        options: {
          maxShare: r.maxShare,
          normalizeSteps: r.normalizeSteps,
          lossExponent: r.lossExponent,
          serverLearningRate: r.serverLearningRate,
          serverMomentum: r.serverMomentum,
          ...norm,
        },
      };
  }
}

export const DEFAULT_RULES: RoundRules = {
  rounds: 20,
  fraction: 1,
  minBanks: 2,
  quorum: 2,
  roundTimeoutMs: 120_000,
  graceMs: 5_000,
  evaluationTimeoutMs: 60_000,
  latePolicy: 'reject',
  uploadSlots: 4,
  uploadGrantTimeoutMs: 30_000,
  uploadPreGrantBytes: 16_777_216,
  roundIntervalMs: 500,
  threshold: 0.5,
  histogramBins: 1000,
  strategy: 'fedavg',
  ...DEFAULT_FEDAVG,
  byzantineF: 0,
  multiKrumM: 0,
  trimFraction: 0.1,
  clipRadius: 10,
  clipIterations: 1,
  adaptiveNormK: 0,
  adaptiveNormAction: 'reject',
  maxUpdateNorm: 1000,
  excludeUnhealthyBanks: false,
  privacyBudgetAction: 'exclude-bank',
  quarantineAfterExclusions: null,
  ...DEFAULT_SECAGG_RULES,
  maxAuprcDrop: null,
  ...DEFAULT_TRUST_RULES,
};
