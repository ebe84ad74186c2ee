/**
 * People in the dashboard: who is signed in (a person with a session cookie, or an
 * API/bootstrap token), their permissions, and the calls of the sign-in, profile and
 * users API. Session cookies are HttpOnly; changes carry X-CSRF-Token (lib/api.ts).
 */
import { createContext, useContext } from 'react';
import { ApiError, csrfToken } from './api';

export type PersonRole = 'admin' | 'ml-engineer' | 'auditor' | 'viewer';

export interface WhoAmI {
  role: PersonRole;
  kind: 'session' | 'api-token' | 'bootstrap';
  permissions: string[];
  username: string | null;
  displayName: string;
  mfaEnabled: boolean | null;
  setup: 'password' | 'mfa' | null;
  expiresAt: number | null;
  now: number;
  idleMs: number | null;
}

export interface AccountView {
  id: string;
  username: string;
  displayName: string;
  role: PersonRole;
  mfaEnabled: boolean;
  mustChangePassword: boolean;
  createdAt: number;
  lastLoginAt: number | null;
  disabled: boolean;
  locked: boolean;
}

export interface SessionView {
  handle: string;
  current: boolean;
  createdAt: number;
  lastSeenAt: number;
  userAgent: string;
  ip: string;
}

export const ROLE_LABELS: Record<PersonRole, string> = {
  admin: 'Admin',
  'ml-engineer': 'ML engineer',
  auditor: 'Auditor (read-only)',
  viewer: 'Viewer (charts)',
};

/** One call of the people API; a token (automation/bootstrap) or the session cookie. */
export async function call<T>(method: string, path: string, body?: unknown, token?: string | null): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  else if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new ApiError('The aggregator cannot be reached (network error). Is it running?', 0);
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!res.ok) throw new ApiError(String(json.message ?? `${res.status} ${res.statusText}`), res.status);
  return json as T;
}

export interface PeopleContext {
  me: WhoAmI;
  token: string | null;
  can: (permission: string) => boolean;
  /** Re-reads /api/whoami (after a password change or MFA enrolment). */
  reload: () => Promise<void>;
  /** Signs out; `local`: only this page forgets the session (the server has ended it, or another tab uses it). */
  logout: (reason?: string, opts?: { local?: boolean }) => void;
}

export const People = createContext<PeopleContext | null>(null);

export function usePeople(): PeopleContext | null {
  return useContext(People);
}
