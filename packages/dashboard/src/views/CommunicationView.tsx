/**
 * Communication per round: bytes uploaded by banks and sent down to them, in total or
 * per bank, plus per-bank totals and the compression of the update encoding
 * (parameters × 4 / update bytes, when the encoding is not float32).
 */
import { useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { EmptyState, Panel } from '../components/Panel';
import { formatBytes } from '../lib/format';
import {
  bankColor,
  banksInRounds,
  bytesOf,
  compressionRatio,
  encodingOf,
  isFinished,
  meanCompression,
} from '../lib/rounds';
import type { RoundRecord } from '../lib/types';

type Mode = 'total' | 'bank';

interface BankTotals {
  id: string;
  up: number;
  down: number;
  rounds: number;
  lastUpdate: number | null;
  lastRatio: number | null;
}

export function CommunicationView({ rounds, parameters }: { rounds: RoundRecord[]; parameters: number | null }) {
  const finished = useMemo(() => rounds.filter(isFinished), [rounds]);
  const bankIds = useMemo(() => banksInRounds(finished), [finished]);
  const [mode, setMode] = useState<Mode>('total');

  const rows = useMemo(
    () =>
      finished.map((r) => {
        const { up, down } = bytesOf(r);
        const perBank: Record<string, number> = {};
        for (const [id, b] of Object.entries(r.banks)) perBank[id] = b.bytesUp ?? 0;
        return { round: r.id, bytesUp: up, bytesDown: down, perBank };
      }),
    [finished],
  );
  const totals = useMemo(() => {
    const map = new Map<string, BankTotals>();
    for (const r of finished) {
      for (const [id, b] of Object.entries(r.banks)) {
        const t = map.get(id) ?? { id, up: 0, down: 0, rounds: 0, lastUpdate: null, lastRatio: null };
        t.up += b.bytesUp ?? 0;
        t.down += b.bytesDown ?? 0;
        t.rounds += 1;
        if (b.updateBytes) {
          t.lastUpdate = b.updateBytes;
          t.lastRatio = encodingOf(r) === 'float32' ? null : compressionRatio(r, b, parameters);
        }
        map.set(id, t);
      }
    }
    return [...map.values()].sort((a, b) => a.id.localeCompare(b.id));
  }, [finished, parameters]);

  const totalUp = rows.reduce((n, r) => n + r.bytesUp, 0);
  const totalDown = rows.reduce((n, r) => n + r.bytesDown, 0);
  // The latest round that carried updates (a failed round may have none).
  const last =
    [...finished].reverse().find((r) => Object.values(r.banks).some((b) => b.updateBytes)) ??
    finished[finished.length - 1];
  const encoding = last ? encodingOf(last) : 'float32';
  const ratio = last && encoding !== 'float32' ? meanCompression(last, parameters) : null;

  return (
    <Panel
      id="communication"
      title="Communication"
      testId="communication"
      subtitle="Bytes on the wire per round: model updates uploaded by banks, global models sent down to them."
      actions={
        rows.length > 0 && (
          <div className="segmented" role="group" aria-label="Chart mode">
            <button type="button" className={mode === 'total' ? 'on' : ''} onClick={() => setMode('total')}>
              Total
            </button>
            <button
              type="button"
              className={mode === 'bank' ? 'on' : ''}
              onClick={() => setMode('bank')}
              data-testid="comm-mode-bank"
            >
              Upload per bank
            </button>
          </div>
        )
      }
    >
      {rows.length === 0 ? (
        <EmptyState title="No rounds yet" testId="comm-empty">
          Traffic per round shows up here once the first round has finished.
        </EmptyState>
      ) : (
        <>
          <div className="stats stats-compact">
            <div className="stat">
              <span className="stat-label">Uploaded (all rounds)</span>
              <span className="stat-value" data-testid="comm-total-up" data-bytes={totalUp}>
                {formatBytes(totalUp)}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">Downloaded (all rounds)</span>
              <span className="stat-value" data-testid="comm-total-down" data-bytes={totalDown}>
                {formatBytes(totalDown)}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">Update encoding</span>
              <span className="stat-value">{encoding}</span>
              <span className="stat-note" data-testid="comm-compression">
                {ratio !== null
                  ? `${ratio.toFixed(1)}× smaller than float32`
                  : encoding === 'float32'
                    ? 'uncompressed'
                    : 'ratio unknown'}
              </span>
            </div>
          </div>
          <div className="chart" data-testid="comm-chart" data-points={rows.length} data-bytes={totalUp + totalDown}>
            <ResponsiveContainer width="100%" height={240}>
              <BarChart data={rows} maxBarSize={56} margin={{ top: 8, right: 16, bottom: 4, left: 8 }}>
                <CartesianGrid stroke="#e5e7eb" vertical={false} />
                <XAxis dataKey="round" tickLine={false} />
                <YAxis tickFormatter={(v: number) => formatBytes(v)} width={64} tickLine={false} />
                <Tooltip formatter={(v) => formatBytes(Number(v))} labelFormatter={(l) => `Round ${l}`} />
                <Legend verticalAlign="top" height={24} itemSorter={null} />
                {mode === 'total' ? (
                  <>
                    <Bar dataKey="bytesUp" name="Up (bank → aggregator)" fill="#2563eb" isAnimationActive={false} />
                    <Bar dataKey="bytesDown" name="Down (aggregator → bank)" fill="#93c5fd" isAnimationActive={false} />
                  </>
                ) : (
                  bankIds.map((id) => (
                    <Bar
                      key={id}
                      stackId="up"
                      dataKey={(row: (typeof rows)[number]) => row.perBank[id] ?? 0}
                      name={id}
                      fill={bankColor(bankIds, id)}
                      isAnimationActive={false}
                    />
                  ))
                )}
              </BarChart>
            </ResponsiveContainer>
          </div>
          <table className="table table-compact" data-testid="comm-banks">
            <thead>
              <tr>
                <th>Bank</th>
                <th className="num">Up</th>
                <th className="num">Down</th>
                <th className="num">Last update</th>
                <th className="num">Compression</th>
              </tr>
            </thead>
            <tbody>
              {totals.map((t) => (
                <tr key={t.id}>
                  <td>{t.id}</td>
                  <td className="num">{formatBytes(t.up)}</td>
                  <td className="num">{formatBytes(t.down)}</td>
                  <td className="num">{formatBytes(t.lastUpdate)}</td>
                  <td className="num">{t.lastRatio !== null ? `${t.lastRatio.toFixed(1)}×` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Panel>
  );
}
