/**
 * The settings an admin can change at run time: the training config sent to banks and
 * the round rules (including the aggregation strategy). One schema for the three places
 * they come from: the start-up configuration, the admin API, and the store (settings saved
 * by this or an EARLIER version, which may lack fields added since: parsing fills in their
 * defaults instead of leaving them undefined).
 */
import { TrainingConfig } from '@finsecure/common/protocol';
import { z } from 'zod';
import { describeIssues } from '../config/load.js';
import { QUARANTINE_HISTORY_ROUNDS } from '../reputation/quarantine.js';
import { RoundRules } from '../round/rules.js';
import { distributedDpIssues } from '../round/secagg-rules.js';

export const FederationSettings = z
  .object({ training: TrainingConfig, rules: RoundRules })
  // secureAggregation with training.dp is distributed DP: an explicit fixed-point clip must leave
  // room for each bank's noise share (round/secagg-rules.ts).
  .superRefine((s, ctx) => {
    for (const issue of distributedDpIssues({ ...s.rules, dp: s.training.dp }))
      ctx.addIssue({ code: 'custom', ...issue });
  });
export type FederationSettings = z.infer<typeof FederationSettings>;

/** Stored settings, validated; null when absent or no longer valid (the caller falls back to its configuration). */
export function parseStoredSettings(stored: unknown): FederationSettings | null {
  if (stored === null || stored === undefined) return null;
  const r = FederationSettings.safeParse(upgraded(stored));
  return r.success ? r.data : null;
}

/**
 * Stored settings of earlier versions, made valid where a rule's range narrowed. A
 * quarantineAfterExclusions above QUARANTINE_HISTORY_ROUNDS could never be met (a streak was only
 * ever counted over that many rounds): it is stored as off, which is what it did.
 */
function upgraded(stored: unknown): unknown {
  const rules = (stored as { rules?: Record<string, unknown> } | null)?.rules;
  const q = rules?.quarantineAfterExclusions;
  if (typeof q !== 'number' || q <= QUARANTINE_HISTORY_ROUNDS) return stored;
  return { ...(stored as object), rules: { ...rules, quarantineAfterExclusions: null } };
}

/**
 * An admin's change applied to the current settings: fields not given keep their value,
 * and `null` removes an optional training field (`dp: null` turns differential privacy
 * off, `smoteMaxMultiplier: null` removes the SMOTE cap). The merged result is validated
 * as a whole, so a combination that no round could run is refused with the reason.
 */
export function applySettingsPatch(
  current: FederationSettings,
  patch: { training?: Record<string, unknown>; rules?: Record<string, unknown> },
): FederationSettings | Error {
  const training: Record<string, unknown> = { ...current.training, ...patch.training };
  for (const [k, v] of Object.entries(patch.training ?? {})) if (v === null) delete training[k];
  const parsed = FederationSettings.safeParse({ training, rules: { ...current.rules, ...patch.rules } });
  return parsed.success ? parsed.data : new Error(`invalid settings:\n${describeIssues(parsed.error)}`);
}
