/**
 * Roles and the role → permission matrix of the consortium. Every HTTP route declares
 * one permission next to its definition (`config: { permission }`); one hook enforces
 * it (the aggregator's server/plugins/auth.ts) and a test checks every route × role pair
 * against this table. The bank console has its own table over the same role names
 * (bank-permissions.ts).
 */
import type { AccountRole } from './types.js';

export const ROLES = ['admin', 'ml-engineer', 'auditor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * `public` needs no credentials (health, the dashboard files, the bank socket which
 * authenticates with its own token). `self` is any signed-in principal acting on itself
 * (who am I, log out, own password, MFA and sessions); it is also all a session that
 * must still change its password may use.
 */
export const PERMISSIONS = [
  'public',
  'self',
  'charts.read',
  'rounds.read',
  'banks.read',
  'banks.manage',
  'models.read',
  'settings.read',
  'settings.write',
  'training.control',
  'audit.read',
  'users.manage',
  'tokens.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = ['self', 'charts.read', 'rounds.read', 'banks.read', 'models.read', 'settings.read'];

/**
 * What each role may do. `public` is implied for everyone. The bank-only role `analyst`
 * is never granted by the aggregator (its core accepts only ROLES); it would hold nothing.
 */
export const ROLE_PERMISSIONS: Readonly<Record<AccountRole, ReadonlySet<Permission>>> = {
  admin: new Set(PERMISSIONS),
  // Settings and training control; no users, no banks (reads the bank list to follow training).
  'ml-engineer': new Set([...READ, 'settings.write', 'training.control']),
  // Everything read-only, including the audit log and its verification.
  auditor: new Set([...READ, 'audit.read']),
  viewer: new Set(['self', 'charts.read']),
  analyst: new Set(),
};

/**
 * The legacy shared viewer token (FINSECURE_VIEWER_TOKEN) always meant "read
 * everything, change nothing"; it keeps exactly that (the auditor's permissions).
 */
export const BOOTSTRAP_VIEWER_PERMISSIONS: ReadonlySet<Permission> = ROLE_PERMISSIONS.auditor;

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

export function isPermission(x: unknown): x is Permission {
  return typeof x === 'string' && (PERMISSIONS as readonly string[]).includes(x);
}

/** Whether `role` holds `permission` (public is always allowed). */
export function can(role: AccountRole, permission: Permission): boolean {
  return permission === 'public' || ROLE_PERMISSIONS[role].has(permission);
}
