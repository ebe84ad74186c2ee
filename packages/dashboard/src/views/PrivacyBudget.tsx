/**
 * Privacy spent: ε per bank from the aggregator's Rényi-DP accountant, against the budget.
 * ε can be "Infinity" (a bank that clipped but added no noise): shown as ∞, over any budget.
 * Renders inside its own error boundary: whatever the values, the overview around it stays.
 */
import { EmptyState, PanelBoundary } from '../components/Panel';
import { formatEpsilon, toNumber } from '../lib/format';
import type { BankView, PrivacyView } from '../lib/types';

export function PrivacyBudget(props: { privacy: PrivacyView | null; banks: BankView[] }) {
  return (
    <PanelBoundary name="privacy">
      <PrivacyBudgetContent {...props} />
    </PanelBoundary>
  );
}

function PrivacyBudgetContent({ privacy, banks }: { privacy: PrivacyView | null; banks: BankView[] }) {
  const entries = Object.entries(privacy?.epsilon ?? {})
    .map(([bank, raw]) => ({ bank, eps: toNumber(raw) }))
    .sort((a, b) => a.bank.localeCompare(b.bank));
  const budget = toNumber(privacy?.budget ?? null);
  const finite = entries.map((e) => e.eps).filter((e): e is number => e !== null && Number.isFinite(e));
  const max = budget !== null && Number.isFinite(budget) && budget > 0 ? budget : Math.max(1, ...finite);
  const delta = toNumber(privacy?.delta ?? null);
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
            δ = {delta !== null && Number.isFinite(delta) ? delta.toExponential(0) : '—'} ·{' '}
            {budget !== null ? `budget ε ≤ ${budget}` : 'no budget set'}
          </p>
          <ul className="eps-list">
            {entries.map(({ bank, eps }) => {
              const unbounded = eps === Infinity;
              const over = eps !== null && (unbounded || (budget !== null && eps >= budget));
              const width = eps === null ? 0 : unbounded ? 100 : Math.min(100, Math.max(0, (eps / max) * 100));
              return (
                <li
                  key={bank}
                  data-testid="privacy-row"
                  data-bank-id={bank}
                  title={unbounded ? 'No noise added (noise multiplier 0): no privacy guarantee' : undefined}
                >
                  <span className="eps-bank">{bank}</span>
                  <span className="meter" aria-hidden>
                    <span className={`meter-fill ${over ? 'meter-over' : ''}`} style={{ width: `${width}%` }} />
                  </span>
                  <span className={`eps-value ${over ? 'text-error' : ''}`} data-testid="privacy-epsilon">
                    {formatEpsilon(eps)}
                  </span>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </div>
  );
}
