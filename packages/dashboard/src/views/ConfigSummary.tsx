/** The training config and round rules in force. */
import { formatMs } from '../lib/format';
import type { SettingsView } from '../lib/types';

function fmt(key: string, value: unknown): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'number' && /Ms$/.test(key)) return formatMs(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const TRAINING_LABELS: Record<string, string> = {
  epochs: 'Local epochs',
  batchSize: 'Batch size',
  learningRate: 'Learning rate',
  smoteRatio: 'SMOTE ratio',
  smoteMaxMultiplier: 'SMOTE cap (× real frauds)',
  updateEncoding: 'Update encoding',
};
const RULE_LABELS: Record<string, string> = {
  rounds: 'Rounds planned',
  minBanks: 'Min. banks',
  quorum: 'Quorum',
  fraction: 'Fraction selected',
  roundTimeoutMs: 'Round timeout',
  graceMs: 'Grace after quorum',
  evaluationTimeoutMs: 'Evaluation timeout',
  roundIntervalMs: 'Pause between rounds',
  threshold: 'Decision threshold',
};

/**
 * The aggregation strategy in one line: "FedAvg" alone is plain FedAvg; refinements are
 * listed only when switched on. Settings stored before these options existed lack them.
 */
export function strategyLabel(rules: Record<string, unknown>): string {
  if (rules.strategy === 'fedmedian') return 'FedMedian (coordinate-wise median)';
  const parts = ['FedAvg'];
  if (rules.normalizeSteps === true) parts.push('step-normalised');
  if (typeof rules.lossExponent === 'number' && rules.lossExponent > 0)
    parts.push(`loss-weighted q ${rules.lossExponent}`);
  if (typeof rules.serverLearningRate === 'number' && rules.serverLearningRate !== 1)
    parts.push(`server lr ${rules.serverLearningRate}`);
  if (typeof rules.serverMomentum === 'number' && rules.serverMomentum > 0)
    parts.push(`momentum ${rules.serverMomentum}`);
  if (typeof rules.maxShare === 'number' && rules.maxShare < 1) parts.push(`share cap ${rules.maxShare}`);
  return parts.join(', ');
}

export function ConfigSummary({ settings }: { settings: SettingsView | null }) {
  if (!settings) return null;
  const t = settings.training;
  const dp = t.dp;
  return (
    <div className="subpanel" data-testid="config">
      <h3>Active configuration</h3>
      <div className="config-cols">
        <dl className="kv">
          {Object.entries(TRAINING_LABELS).map(([k, label]) => (
            <div key={k}>
              <dt>{label}</dt>
              <dd>
                {k === 'smoteMaxMultiplier' && t[k] === undefined
                  ? 'none'
                  : fmt(k, t[k] ?? (k === 'updateEncoding' ? 'float32' : undefined))}
              </dd>
            </div>
          ))}
          <div>
            <dt>Differential privacy</dt>
            <dd>{dp ? `clip ${dp.clip ?? '—'}, noise ×${dp.noiseMultiplier ?? '—'}` : 'off'}</dd>
          </div>
        </dl>
        <dl className="kv">
          <div>
            <dt>Strategy</dt>
            <dd data-testid="strategy">{strategyLabel(settings.rules)}</dd>
          </div>
          <div>
            <dt>Secure aggregation</dt>
            <dd data-testid="config-secure-aggregation">
              {settings.rules.secureAggregation === true ? 'on (SecAgg+: masked updates)' : 'off'}
            </dd>
          </div>
          {Object.entries(RULE_LABELS).map(([k, label]) => (
            <div key={k}>
              <dt>{label}</dt>
              <dd>{k === 'rounds' && settings.rules[k] === 0 ? 'until stopped' : fmt(k, settings.rules[k])}</dd>
            </div>
          ))}
        </dl>
      </div>
    </div>
  );
}
