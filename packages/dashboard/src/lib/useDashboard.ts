/**
 * Everything the dashboard shows, loaded over REST once and then kept current by the
 * live stream. Rounds are the single source for the charts: each RoundRecord carries
 * global and per-bank metrics, bytes and durations.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, getJson } from './api';
import { useLiveEvents, type LiveStatus } from './live';
import { applyLiveEvent, AUDIT_TAIL, mergeAuditTail, ROUND_HISTORY, snapshotWithEvents } from './dashboard-data';
import type {
  AuditEntryView,
  AuditVerifyView,
  BankView,
  HealthView,
  LiveEvent,
  ModelInfo,
  PrivacyView,
  RoundRecord,
  SettingsView,
  StatusView,
} from './types';

export interface DashboardData {
  health: HealthView | null;
  status: StatusView | null;
  settings: SettingsView | null;
  banks: BankView[];
  /** Oldest first. */
  rounds: RoundRecord[];
  privacy: PrivacyView | null;
  model: ModelInfo | null;
  audit: AuditEntryView[];
  /** Result of the latest hash-chain check, with when it was made. */
  auditVerify: (AuditVerifyView & { checkedAt: number }) | null;
}

const EMPTY: DashboardData = {
  health: null,
  status: null,
  settings: null,
  banks: [],
  rounds: [],
  privacy: null,
  model: null,
  audit: [],
  auditVerify: null,
};

export interface Dashboard {
  data: DashboardData;
  /** True once the first full load succeeded. */
  loaded: boolean;
  /** Error of the latest load attempt (null when it succeeded). */
  error: ApiError | null;
  live: LiveStatus;
  refresh: () => Promise<void>;
  verifyAudit: () => Promise<void>;
}

/**
 * The dashboard's data: fetched once, then kept current by the live stream. `onUnauthorized` runs
 * when the aggregator no longer accepts the caller (401, close 4001); `onRefused` when it accepts
 * the caller but not for the live stream (close 4003), e.g. to re-read who is signed in: an
 * account that must finish its set-up is sent to its profile.
 */
export function useDashboard(
  token: string,
  onUnauthorized: (reason: string) => void,
  onRefused?: () => void,
  /** The stream says the caller's role changed: re-read who is signed in (the data is reloaded here). */
  onRoleChanged?: () => void,
  /**
   * Whether the caller holds a permission: the panels' requests its role would be refused (403)
   * are not sent (a viewer's page made eight of them, each a console error). Default: all.
   */
  can: (permission: string) => boolean = () => true,
): Dashboard {
  const [data, setData] = useState<DashboardData>(EMPTY);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const unauthorizedRef = useRef(onUnauthorized);
  unauthorizedRef.current = onUnauthorized;
  const refusedRef = useRef(onRefused);
  refusedRef.current = onRefused;
  const roleChangedRef = useRef(onRoleChanged);
  roleChangedRef.current = onRoleChanged;
  const canRef = useRef(can);
  canRef.current = can;
  /** The request, or (for a role that may not make it) a settled refusal that keeps the panel's data. */
  const ifAllowed = <T>(permission: string, request: () => Promise<T>): Promise<T> =>
    canRef.current(permission) ? request() : Promise.reject(new ApiError(`needs ${permission}`, 403));

  const fail = useCallback((err: unknown): ApiError => {
    const e = err instanceof ApiError ? err : new ApiError((err as Error)?.message ?? String(err), -1);
    if (e.status === 401) unauthorizedRef.current('the aggregator no longer accepts this token');
    return e;
  }, []);

  const loadAudit = useCallback(async (): Promise<Pick<DashboardData, 'audit' | 'auditVerify'>> => {
    const auditVerify = { ...(await getJson<AuditVerifyView>('/api/audit/verify', token)), checkedAt: Date.now() };
    const after = Math.max(0, auditVerify.entries - AUDIT_TAIL);
    const audit = await getJson<AuditEntryView[]>(`/api/audit?after=${after}&limit=${AUDIT_TAIL}`, token);
    return { audit, auditVerify };
  }, [token]);

  // Live events received while a snapshot loads, one list per load in flight (snapshotWithEvents).
  const windows = useRef(new Set<LiveEvent[]>());

  // Loads are numbered: one that answers after a later one has been applied is older than the page.
  const loads = useRef({ started: 0, applied: 0 });

  const refresh = useCallback(async () => {
    const since: LiveEvent[] = [];
    windows.current.add(since);
    const load = ++loads.current.started;
    try {
      const [status, banks, rounds] = await Promise.all([
        getJson<StatusView>('/api/status', token),
        // A role without banks.read (viewer: charts only) sees no bank table rather than an error.
        ifAllowed('banks.read', () => getJson<BankView[]>('/api/banks', token)).catch((e: unknown) => {
          if (e instanceof ApiError && e.status === 403) return [] as BankView[];
          throw e;
        }),
        getJson<RoundRecord[]>(`/api/rounds?limit=${ROUND_HISTORY}`, token),
      ]);
      // Secondary panels: one failing must not hide the rest.
      const [health, settings, privacy, model, audit] = await Promise.allSettled([
        getJson<HealthView>('/api/health', null),
        ifAllowed('settings.read', () => getJson<SettingsView>('/api/config', token)),
        getJson<PrivacyView>('/api/privacy', token),
        ifAllowed('models.read', () => getJson<ModelInfo>('/api/model', token)),
        ifAllowed('audit.read', loadAudit),
      ]);
      windows.current.delete(since);
      if (load < loads.current.applied) return;
      loads.current.applied = load;
      setData((prev) =>
        snapshotWithEvents(
          {
            status,
            banks: banks.slice().sort((a, b) => a.id.localeCompare(b.id)),
            rounds: rounds.slice().sort((a, b) => a.id - b.id),
            health: health.status === 'fulfilled' ? health.value : prev.health,
            settings: settings.status === 'fulfilled' ? settings.value : prev.settings,
            privacy: privacy.status === 'fulfilled' ? privacy.value : prev.privacy,
            model: model.status === 'fulfilled' ? model.value : prev.model,
            ...(audit.status === 'fulfilled' ? audit.value : { audit: prev.audit, auditVerify: prev.auditVerify }),
          },
          since,
        ),
      );
      setError(null);
      setLoaded(true);
    } catch (err) {
      windows.current.delete(since);
      setError(fail(err));
    }
  }, [token, loadAudit, fail]);

  /** After a round ends: privacy, model, config and the audit check have moved on. */
  const refreshAfterRound = useCallback(async () => {
    const [privacy, model, settings, health, audit] = await Promise.allSettled([
      getJson<PrivacyView>('/api/privacy', token),
      ifAllowed('models.read', () => getJson<ModelInfo>('/api/model', token)),
      ifAllowed('settings.read', () => getJson<SettingsView>('/api/config', token)),
      getJson<HealthView>('/api/health', null),
      ifAllowed('audit.read', () => getJson<AuditVerifyView>('/api/audit/verify', token)),
    ]);
    setData((prev) => ({
      ...prev,
      privacy: privacy.status === 'fulfilled' ? privacy.value : prev.privacy,
      model: model.status === 'fulfilled' ? model.value : prev.model,
      settings: settings.status === 'fulfilled' ? settings.value : prev.settings,
      health: health.status === 'fulfilled' ? health.value : prev.health,
      auditVerify: audit.status === 'fulfilled' ? { ...audit.value, checkedAt: Date.now() } : prev.auditVerify,
    }));
  }, [token]);

  /** Checks the chain again; rejects (with the ApiError) when no check happened, for the panel to say so. */
  const verifyAudit = useCallback(async () => {
    try {
      const next = await loadAudit();
      setData((prev) => ({ ...prev, auditVerify: next.auditVerify, audit: mergeAuditTail(prev.audit, next.audit) }));
    } catch (err) {
      throw fail(err);
    }
  }, [loadAudit, fail]);

  const debounce = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const scheduleAfterRound = useCallback(() => {
    clearTimeout(debounce.current);
    debounce.current = setTimeout(() => void refreshAfterRound(), 300);
  }, [refreshAfterRound]);
  useEffect(() => () => clearTimeout(debounce.current), []);

  const onEvent = useCallback(
    (event: LiveEvent) => {
      if (event.type === 'role') {
        // What this caller may read changed: panels it could not load before, or may not keep.
        roleChangedRef.current?.();
        void refresh();
        return;
      }
      for (const since of windows.current) since.push(event);
      setData((prev) => applyLiveEvent(prev, event));
      if (event.type === 'round' && (event.round.status === 'committed' || event.round.status === 'failed'))
        scheduleAfterRound();
      // The settings are not sent in the event (a viewer may not read them all): read again.
      if (event.type === 'settings') scheduleAfterRound();
    },
    [scheduleAfterRound, refresh],
  );

  const live = useLiveEvents(token, {
    onEvent,
    // Every open, the first one too: the stream carries only what is published after it is
    // subscribed (when its hello arrives), so the load started at mount can miss an event published
    // between its answers and the subscription (a round committing while the page loads), and
    // nothing would bring that back. A load started now misses nothing (snapshotWithEvents).
    onOpen: () => void refresh(),
    onUnauthorized: (reason) => unauthorizedRef.current(reason),
    onRefused: () => refusedRef.current?.(),
  });

  // Paints at once, and shows an aggregator that cannot be reached; the stream's opening loads again.
  useEffect(() => {
    void refresh();
  }, [refresh]);

  // The status stream announces a new global model before the round-end refresh runs.
  const statusVersion = data.status?.modelVersion;
  const modelVersion = data.model?.version;
  useEffect(() => {
    if (statusVersion === undefined || modelVersion === undefined || statusVersion === modelVersion) return;
    let cancelled = false;
    getJson<ModelInfo>('/api/model', token).then(
      (model) => !cancelled && setData((prev) => ({ ...prev, model })),
      () => {},
    );
    return () => {
      cancelled = true;
    };
  }, [statusVersion, modelVersion, token]);

  // While the first load has not succeeded (aggregator down), keep trying.
  useEffect(() => {
    if (loaded || !error) return;
    const t = setTimeout(() => void refresh(), 3000);
    return () => clearTimeout(t);
  }, [loaded, error, refresh]);

  return { data, loaded, error, live, refresh, verifyAudit };
}

/** A clock that ticks, for "last seen 12 s ago" and countdowns. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}
