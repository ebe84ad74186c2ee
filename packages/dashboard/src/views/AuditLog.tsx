/** The audit log (newest first) with the result of the hash-chain check. */
import { useState } from 'react';
import { Panel } from '../components/Panel';
import { formatDateTime, formatTime, shortHash } from '../lib/format';
import type { AuditEntryView, AuditVerifyView } from '../lib/types';

function summary(details: Record<string, unknown>): string {
  const s = JSON.stringify(details);
  return s.length > 140 ? `${s.slice(0, 139)}…` : s;
}

export function AuditLog({
  entries,
  verify,
  onVerify,
}: {
  entries: AuditEntryView[];
  verify: (AuditVerifyView & { checkedAt: number }) | null;
  onVerify: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  // A check asked for that did not happen: said as such, and the last result shown as the past.
  const [checkFailed, setCheckFailed] = useState<{ at: number; message: string } | null>(null);
  const newest = entries.slice().reverse();
  return (
    <Panel
      id="audit"
      title="Audit log"
      testId="audit"
      subtitle="Every change and round outcome, each entry chained to the previous one by its hash."
      actions={
        <button
          type="button"
          className="btn"
          disabled={busy}
          data-testid="audit-verify-button"
          onClick={() => {
            setBusy(true);
            void onVerify()
              .then(() => setCheckFailed(null))
              .catch((err: unknown) => setCheckFailed({ at: Date.now(), message: (err as Error).message }))
              .finally(() => setBusy(false));
          }}
        >
          {busy ? 'Checking…' : 'Check chain again'}
        </button>
      }
    >
      {checkFailed && (
        <p className="callout callout-error" data-testid="audit-verify-failed" role="alert">
          <strong>The chain was not checked</strong> at {formatTime(checkFailed.at)}: {checkFailed.message}.
          {verify && ' The result below is from an earlier check and may be out of date.'}
        </p>
      )}
      {verify && (
        <p
          className={`callout ${checkFailed ? '' : verify.ok ? 'callout-ok' : 'callout-error'}`}
          data-testid="audit-verify"
          data-ok={String(verify.ok)}
          data-stale={String(checkFailed !== null)}
        >
          {verify.ok ? (
            <>
              <strong>Hash chain intact{checkFailed ? ' at the earlier check' : ''}:</strong> all {verify.entries}{' '}
              entries verified at {formatTime(verify.checkedAt)}.
            </>
          ) : (
            <>
              <strong>Hash chain broken</strong>
              {verify.brokenAt !== undefined && <> at entry {verify.brokenAt}</>}: {verify.reason ?? 'unknown reason'}.
              The log may have been tampered with.
            </>
          )}
        </p>
      )}
      {newest.length === 0 ? (
        <p className="muted">No audit entries yet.</p>
      ) : (
        <div className="table-wrap table-scroll">
          <table className="table table-compact" data-testid="audit-table">
            <thead>
              <tr>
                <th>#</th>
                <th>Time</th>
                <th>Event</th>
                <th>Actor</th>
                <th>Details</th>
                <th>Hash</th>
              </tr>
            </thead>
            <tbody>
              {newest.map((e) => (
                <tr key={e.seq} data-testid="audit-row">
                  <td className="mono">{e.seq}</td>
                  <td className="nowrap">{formatDateTime(e.at)}</td>
                  <td className="nowrap">{e.type}</td>
                  <td>{e.actor}</td>
                  <td className="mono small details" title={JSON.stringify(e.details, null, 2)}>
                    {summary(e.details)}
                  </td>
                  <td className="mono small" title={`hash ${e.hash}\nprev ${e.prevHash}`}>
                    {shortHash(e.hash, 8)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
