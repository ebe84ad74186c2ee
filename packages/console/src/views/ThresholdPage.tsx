/**
 * The operating threshold: the score above which a transaction becomes an alert, chosen
 * explicitly for this bank and shown with what it implies. Until chosen nothing is flagged.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../lib/api';
import { useRefreshTick } from '../lib/refresh';
import { formatTime } from '../lib/format';
import type { ThresholdKind, ThresholdState } from '../lib/types';
import { PrCurve } from '../components/PrCurve';
import { FeedbackPanel } from '../components/FeedbackPanel';

const KIND_LABEL: Record<ThresholdKind, string> = {
  probability: 'Fraud probability at least',
  fpr: 'False-positive rate at most',
  precision: 'Precision at least',
  'alerts-per-day': 'Alerts per day at most',
};

/** What each kind's value is, shown beside the field and in the refusal. */
const KIND_UNIT: Record<ThresholdKind, string> = {
  probability: 'a fraction between 0 and 1 (0.8), or a percentage (80%)',
  fpr: 'a fraction above 0 and below 1 (0.01), or a percentage (1%)',
  precision: 'a fraction above 0 and at most 1 (0.5), or a percentage (50%)',
  'alerts-per-day': 'a number of alerts, above 0',
};

/**
 * The typed value as the API takes it, or why not. "1%" is 0.01; a fraction kind refuses 1 and
 * above where it would flag every transaction (a false-positive rate "at most 1" meant as 1 %).
 */
export function thresholdValue(kind: ThresholdKind, text: string): number | string {
  const t = text.trim();
  const percent = kind !== 'alerts-per-day' && t.endsWith('%');
  const n = Number(percent ? t.slice(0, -1).trim() : t);
  if (t === '' || (percent && t.length === 1) || !Number.isFinite(n)) return `Enter ${KIND_UNIT[kind]}.`;
  const v = percent ? n / 100 : n;
  const ok = kind === 'alerts-per-day' ? v > 0 : kind === 'precision' ? v > 0 && v <= 1 : v > 0 && v < 1;
  return ok ? v : `${KIND_LABEL[kind]} ${t}: enter ${KIND_UNIT[kind]}.`;
}

export function ThresholdPage({ canWrite }: { canWrite: boolean }) {
  const [state, setState] = useState<ThresholdState | null>(null);
  const [kind, setKind] = useState<ThresholdKind>('probability');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<ThresholdState>('GET', '/api/threshold')
      .then(setState)
      .catch((e: Error) => setError(e.message));
  // Another engineer may change it, and the daemon's rounds move the curve: read again on focus.
  const tick = useRefreshTick();
  useEffect(() => void load(), [tick]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const v = thresholdValue(kind, value);
    if (typeof v === 'string') return setError(v);
    try {
      await api('PUT', '/api/threshold', { kind, value: v });
      setValue('');
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  if (!state && error)
    return (
      <section className="card">
        <h1>Operating threshold</h1>
        <p className="callout callout-error" role="alert">
          {error}
        </p>
      </section>
    );
  if (!state) return <p className="muted">Loading…</p>;
  const t = state.threshold;
  return (
    <section className="card" data-testid="threshold-page">
      <h1>Operating threshold</h1>
      {t ? (
        <dl className="facts" data-testid="threshold-current">
          <dt>Flag when</dt>
          <dd>
            {KIND_LABEL[t.target.kind].toLowerCase()} {t.target.value}
            {t.target.kind !== 'probability' && ` (probability ≥ ${t.probability.toPrecision(4)})`}
          </dd>
          {t.implied && (
            <>
              <dt>
                On the validation split
                {t.validation ? ` (${t.validation.rows} rows, ${t.validation.frauds} frauds)` : ''}
              </dt>
              <dd>
                precision {(t.implied.precision * 100).toFixed(1)}%, recall {(t.implied.recall * 100).toFixed(1)}%,
                false-positive rate {(t.implied.fpr * 100).toFixed(2)}%
                {t.implied.alertsPerDay !== null && `, ${t.implied.alertsPerDay.toFixed(1)} alerts per day`}
              </dd>
            </>
          )}
          <dt>Chosen</dt>
          <dd>
            by {t.chosenBy}, {formatTime(t.at)}, model v{t.modelVersion}
          </dd>
        </dl>
      ) : (
        <p className="callout callout-warn" data-testid="threshold-none">
          Not chosen yet: nothing is flagged until an ML engineer or an admin chooses the operating threshold.
        </p>
      )}
      {t && t.curve.length > 0 && <PrCurve points={t.curve} chosen={t.implied} />}
      {canWrite && (
        <form onSubmit={submit} className="threshold-form">
          <label>
            Target
            <select
              value={kind}
              onChange={(e) => setKind(e.target.value as ThresholdKind)}
              data-testid="threshold-kind"
            >
              {state.targets.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </label>
          <label>
            Value
            <input
              value={value}
              onChange={(e) => setValue(e.target.value)}
              className="narrow"
              inputMode="decimal"
              aria-describedby="threshold-unit"
              data-testid="threshold-value"
            />
          </label>
          <span className="hint" id="threshold-unit" data-testid="threshold-unit">
            {KIND_UNIT[kind]}
          </span>
          <button type="submit" className="btn btn-primary" data-testid="threshold-submit">
            Choose
          </button>
        </form>
      )}
      {error && (
        <p className="callout callout-error" role="alert" data-testid="threshold-error">
          {error}
        </p>
      )}
      <FeedbackPanel />
    </section>
  );
}
