/** The logged-in page: one section per view, all fed by useDashboard. */
import { useState } from 'react';
import type { Session } from './App';
import { ConnectionBanner } from './components/ConnectionBanner';
import { Header } from './components/Header';
import { useDashboard, useNow } from './lib/useDashboard';
import { usePeople } from './lib/people';
import { AuditLog } from './views/AuditLog';
import { BanksTable } from './views/BanksTable';
import { CommunicationView } from './views/CommunicationView';
import { ModelDownload } from './views/ModelDownload';
import { ModelVersions } from './views/ModelVersions';
import { Overview } from './views/Overview';
import { QualityView } from './views/QualityView';
import { RoundDetail } from './views/RoundDetail';
import { RoundsList } from './views/RoundsList';
import { SegmentsView } from './views/SegmentsView';
import { TimingView } from './views/TimingView';

export function Dashboard({ session, onLogout }: { session: Session; onLogout: (reason?: string) => void }) {
  const people = usePeople();
  const dash = useDashboard(
    session.token,
    (reason) => onLogout(`You were logged out: ${reason}.`),
    // Refused the live stream: who we are may have changed (a set-up to finish sends us to Profile).
    () => void people?.reload(),
    () => void people?.reload(),
    (permission) => people?.can(permission) ?? true,
  );
  const now = useNow(1000);
  const [selectedRound, setSelectedRound] = useState<number | null>(null);
  const { data } = dash;
  // What the signed-in role cannot use is not offered (the server refuses it anyway).
  const can = (permission: string) => people?.can(permission) ?? true;

  return (
    <div className="app" data-testid="dashboard" data-role={session.role}>
      <Header role={session.role} live={dash.live} health={data.health} onLogout={() => onLogout()} />
      <ConnectionBanner live={dash.live} error={dash.error} now={now} />
      <main
        className={`content ${dash.live.state === 'reconnecting' ? 'content-stale' : ''}`}
        aria-busy={dash.live.state === 'reconnecting'}
      >
        {!dash.loaded ? (
          <LoadingOrUnreachable error={dash.error} />
        ) : (
          <>
            <Overview data={data} session={session} onChanged={dash.refresh} canReadBanks={can('banks.read')} />
            <div className="grid-2">
              <QualityView rounds={data.rounds} />
              <CommunicationView rounds={data.rounds} parameters={data.model?.parameters ?? null} />
            </div>
            <TimingView rounds={data.rounds} />
            {can('banks.read') && (
              <BanksTable
                banks={data.banks}
                rounds={data.rounds}
                now={now}
                minBanks={Number(data.settings?.rules.minBanks ?? 0)}
                token={session.token}
                canManage={can('banks.manage')}
              />
            )}
            <div className="grid-rounds">
              <RoundsList
                rounds={data.rounds}
                status={data.status}
                selected={selectedRound}
                onSelect={setSelectedRound}
              />
              {can('rounds.read') && (
                <RoundDetail
                  token={session.token}
                  roundId={selectedRound}
                  rounds={data.rounds}
                  parameters={data.model?.parameters ?? null}
                  onClose={() => setSelectedRound(null)}
                />
              )}
            </div>
            {can('rounds.read') && <SegmentsView token={session.token} canStart={can('training.control')} />}
            <div className="grid-2">
              {can('audit.read') && (
                <AuditLog entries={data.audit} verify={data.auditVerify} onVerify={dash.verifyAudit} />
              )}
              {can('models.read') && <ModelDownload token={session.token} model={data.model} />}
            </div>
            {can('models.read') && (
              <ModelVersions
                token={session.token}
                canRollBack={can('training.control')}
                currentVersion={data.status?.modelVersion ?? 0}
              />
            )}
          </>
        )}
      </main>
      <footer className="footer">
        {data.health ? (
          <span>
            Aggregator {data.health.version} · store {data.health.store} · TF.js backend {data.health.backend}
          </span>
        ) : (
          <span>FinSecure</span>
        )}
      </footer>
    </div>
  );
}

function LoadingOrUnreachable({ error }: { error: ReturnType<typeof useDashboard>['error'] }) {
  if (!error) {
    return (
      <div className="panel center" data-testid="loading">
        <p className="muted">Loading the consortium state…</p>
      </div>
    );
  }
  return (
    <div className="panel center" data-testid={error.unreachable ? 'aggregator-unreachable' : 'load-error'}>
      <h2>{error.unreachable ? 'The aggregator cannot be reached' : 'The dashboard could not load its data'}</h2>
      <p className="muted">
        {error.unreachable
          ? 'It may be restarting or stopped. This page keeps trying every few seconds and fills in as soon as it answers.'
          : error.message}
      </p>
    </div>
  );
}
