/**
 * The live event stream (/ws/events) with automatic reconnection. Browsers cannot set
 * headers on a WebSocket, so the token goes in the first message. After the aggregator
 * restarts, the socket closes and is reopened with exponential backoff (plus jitter);
 * the caller re-fetches everything once it is back, to catch up on what it missed. A refusal
 * (4001: not signed in any more; 4003: signed in, but not for the stream) is not retried.
 */
import { useEffect, useRef, useState } from 'react';
import { eventsUrl } from './api';
import type { LiveEvent, Role } from './types';

/** 'refused': the aggregator will not stream to this session (close 4003); no retry. */
export type LinkState = 'connecting' | 'open' | 'reconnecting' | 'refused';

export interface LiveStatus {
  state: LinkState;
  /** Failed attempts since the link was last open. */
  attempt: number;
  /** When the next attempt starts (ms since epoch), while reconnecting. */
  retryAt: number | null;
  /** When the link was lost (null while open or before it ever opened). */
  lostAt: number | null;
  /** Whether it has been open at least once in this session. */
  everOpen: boolean;
  /** Why the aggregator refused the stream (state 'refused'). */
  refusal?: string;
}

export interface LiveHandlers {
  onEvent: (event: LiveEvent) => void;
  /** The link is open (again): called with true when it is a reconnection. */
  onOpen: (reconnected: boolean) => void;
  /** The server refused the token (close code 4001). */
  onUnauthorized: (reason: string) => void;
  /**
   * The server accepted the caller but will not stream to it (close code 4003: an account that
   * must finish its set-up first, or a role without the charts). Retrying would only be refused
   * again, so the link stays down; the caller re-reads who it is.
   */
  onRefused?: (reason: string) => void;
}

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 15_000;

export function backoffDelay(attempt: number): number {
  const exp = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

export function useLiveEvents(token: string, handlers: LiveHandlers): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>({
    state: 'connecting',
    attempt: 0,
    retryAt: null,
    lostAt: null,
    everOpen: false,
  });
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;

  useEffect(() => {
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let disposed = false;
    let attempt = 0;
    let everOpen = false;
    let lostAt: number | null = null;

    const connect = () => {
      if (disposed) return;
      let ws: WebSocket;
      try {
        ws = new WebSocket(eventsUrl());
      } catch {
        scheduleRetry();
        return;
      }
      socket = ws;
      let opened = false;
      ws.onopen = () => ws.send(JSON.stringify({ token }));
      ws.onmessage = (msg) => {
        let data: { type?: string; role?: Role } & Record<string, unknown>;
        try {
          data = JSON.parse(String(msg.data));
        } catch {
          return;
        }
        if (data.type === 'hello') {
          opened = true;
          const reconnected = everOpen || attempt > 0;
          everOpen = true;
          attempt = 0;
          lostAt = null;
          setStatus({ state: 'open', attempt: 0, retryAt: null, lostAt: null, everOpen: true });
          handlersRef.current.onOpen(reconnected);
          return;
        }
        if (opened) handlersRef.current.onEvent(data as unknown as LiveEvent);
      };
      ws.onclose = (ev) => {
        if (socket === ws) socket = null;
        if (disposed) return;
        if (ev.code === 4001) {
          handlersRef.current.onUnauthorized(ev.reason || 'the aggregator did not accept this token');
          return;
        }
        if (ev.code === 4003) {
          const refusal = ev.reason || 'the aggregator does not stream to this account';
          setStatus({ state: 'refused', attempt, retryAt: null, lostAt: lostAt ?? Date.now(), everOpen, refusal });
          handlersRef.current.onRefused?.(refusal);
          return;
        }
        scheduleRetry();
      };
      ws.onerror = () => {
        /* onclose follows and schedules the retry */
      };
    };

    const scheduleRetry = () => {
      attempt += 1;
      lostAt ??= Date.now();
      const delay = backoffDelay(attempt);
      setStatus({ state: 'reconnecting', attempt, retryAt: Date.now() + delay, lostAt, everOpen });
      timer = setTimeout(connect, delay);
    };

    connect();
    return () => {
      disposed = true;
      clearTimeout(timer);
      socket?.close(1000, 'dashboard closed');
    };
  }, [token]);

  return status;
}
