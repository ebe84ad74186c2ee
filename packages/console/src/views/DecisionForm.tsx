/** An analyst's decision on an alert, with a note; stored with their name and audited. */
import { useState, type FormEvent } from 'react';
import { api } from '../lib/api';
import { DECISION_LABEL } from '../lib/format';
import type { Decision } from '../lib/types';

const CHOICES: Decision[] = ['confirmed_fraud', 'false_positive', 'not_sure'];

export function DecisionForm({ alertId, onDecided }: { alertId: number; onDecided: () => void }) {
  const [decision, setDecision] = useState<Decision | null>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!decision) return setError('Choose a decision.');
    setBusy(true);
    setError(null);
    try {
      await api('POST', `/api/alerts/${alertId}/decision`, { decision, note });
      setNote('');
      setDecision(null);
      onDecided();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="decision-form" data-testid="decision-form">
      <div className="choices">
        {CHOICES.map((c) => (
          <label key={c} className={`choice ${decision === c ? 'chosen' : ''}`}>
            <input
              type="radio"
              name="decision"
              value={c}
              checked={decision === c}
              onChange={() => setDecision(c)}
              data-testid={`decide-${c}`}
            />
            {DECISION_LABEL[c]}
          </label>
        ))}
      </div>
      <label htmlFor="note">Note</label>
      <textarea
        id="note"
        maxLength={2000}
        rows={3}
        value={note}
        onChange={(e) => setNote(e.target.value)}
        data-testid="decision-note"
        placeholder="What you checked, who you called…"
      />
      {error && <p className="callout callout-error">{error}</p>}
      <button type="submit" className="btn btn-primary" disabled={busy} data-testid="decision-submit">
        {busy ? 'Saving…' : 'Record decision'}
      </button>
    </form>
  );
}
