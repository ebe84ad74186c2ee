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
  maxShare: 'Max. share per bank',
};

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
              <dd>{fmt(k, t[k] ?? (k === 'updateEncoding' ? 'float32' : undefined))}</dd>
            </div>
          ))}
          <div>
            <dt>Differential privacy</dt>
            <dd>{dp ? `clip ${dp.clip ?? '—'}, noise ×${dp.noiseMultiplier ?? '—'}` : 'off'}</dd>
          </div>
        </dl>
        <dl className="kv">
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
