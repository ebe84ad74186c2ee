/** Privacy spent: ε per bank from the aggregator's Rényi-DP accountant, against the budget. */
import { EmptyState } from '../components/Panel';
import type { BankView, PrivacyView } from '../lib/types';

export function PrivacyBudget({ privacy, banks }: { privacy: PrivacyView | null; banks: BankView[] }) {
  const entries = Object.entries(privacy?.epsilon ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const budget = privacy?.budget ?? null;
  const max = budget ?? Math.max(1, ...entries.map(([, e]) => e));
  return (
    <div className="subpanel" data-testid="privacy">
      <h3>Privacy spent (ε)</h3>
      {entries.length === 0 ? (
        <EmptyState title="No differential privacy spent yet" testId="privacy-empty">
          ε is tracked per bank once banks train with differential privacy (clipping and noise).{' '}
          {banks.length > 0 && 'None of the rounds so far used it.'}
        </EmptyState>
      ) : (
        <>
          <p className="muted small">
            δ = {privacy!.delta.toExponential(0)} · {budget !== null ? `budget ε ≤ ${budget}` : 'no budget set'}
          </p>
          <ul className="eps-list">
            {entries.map(([bank, eps]) => {
              const over = budget !== null && eps >= budget;
              return (
                <li key={bank} data-testid="privacy-row">
                  <span className="eps-bank">{bank}</span>
                  <span className="meter" aria-hidden>
                    <span
                      className={`meter-fill ${over ? 'meter-over' : ''}`}
                      style={{ width: `${Math.min(100, (eps / max) * 100)}%` }}
                    />
                  </span>
                  <span className={`eps-value ${over ? 'text-error' : ''}`}>{eps.toFixed(2)}</span>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </div>
  );
}
