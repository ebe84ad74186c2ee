import { DECISION_LABEL } from '../lib/format';
import type { AlertStatus } from '../lib/types';

export function StatusBadge({ status }: { status: AlertStatus }) {
  return <span className={`badge status-${status}`}>{DECISION_LABEL[status]}</span>;
}
