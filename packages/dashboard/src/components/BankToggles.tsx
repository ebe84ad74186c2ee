/** Chips to switch per-bank lines on and off. */
import { bankColor } from '../lib/rounds';

export function BankToggles({
  ids,
  active,
  onToggle,
  testId,
}: {
  ids: string[];
  active: Set<string>;
  onToggle: (id: string) => void;
  testId?: string;
}) {
  if (ids.length === 0) return null;
  return (
    <div className="toggles" data-testid={testId}>
      <span className="muted small">Per bank:</span>
      {ids.map((id) => (
        <label
          key={id}
          className={`chip ${active.has(id) ? 'chip-on' : ''}`}
          style={{ ['--chip' as string]: bankColor(ids, id) }}
        >
          <input
            type="checkbox"
            checked={active.has(id)}
            onChange={() => onToggle(id)}
            data-testid={`bank-toggle-${id}`}
          />
          <span className="chip-swatch" aria-hidden />
          {id}
        </label>
      ))}
    </div>
  );
}

export function toggleIn(set: Set<string>, id: string): Set<string> {
  const next = new Set(set);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}
