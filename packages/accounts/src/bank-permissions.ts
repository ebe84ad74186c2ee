/**
 * Roles and the role → permission matrix of the bank console (served by the bank's own
 * daemon, on the bank's own host). Same shape as the consortium's table (permissions.ts):
 * each route declares one permission and one hook enforces it.
 *
 * - analyst: reads alerts and decides them (confirmed fraud / false positive / not sure),
 *   scores transactions, builds and reads account anomaly reports (Accounts page).
 * - ml-engineer: everything an analyst does, plus the operating threshold.
 * - admin: everything, including people and the local audit log.
 * - anonymise (safe copies of transaction files for sharing, Anonymise page): analysts and
 *   admins only; releasing data is not part of tuning the model, so ML engineers do not hold it.
 */
import type { AccountRole } from './types.js';

export const BANK_ROLES = ['admin', 'ml-engineer', 'analyst'] as const;
export type BankRole = (typeof BANK_ROLES)[number];

export const BANK_PERMISSIONS = [
  'public',
  'self',
  'scores.create',
  'alerts.read',
  'alerts.decide',
  'threshold.read',
  'threshold.write',
  'accounts.run',
  'accounts.read',
  'anonymise',
  'audit.read',
  'users.manage',
] as const;
export type BankPermission = (typeof BANK_PERMISSIONS)[number];

const ANALYST: BankPermission[] = [
  'self',
  'scores.create',
  'alerts.read',
  'alerts.decide',
  'threshold.read',
  // The Accounts page: build account anomaly reports of a transaction file, and read them.
  'accounts.run',
  'accounts.read',
];

/**
 * What each role may do at the console. The consortium-only roles (auditor, viewer) are
 * never granted by the console (its core accepts only BANK_ROLES); they would hold nothing.
 */
export const BANK_ROLE_PERMISSIONS: Readonly<Record<AccountRole, ReadonlySet<BankPermission>>> = {
  admin: new Set(BANK_PERMISSIONS),
  'ml-engineer': new Set([...ANALYST, 'threshold.write']),
  analyst: new Set([...ANALYST, 'anonymise']),
  auditor: new Set(),
  viewer: new Set(),
};

export function isBankRole(x: unknown): x is BankRole {
  return typeof x === 'string' && (BANK_ROLES as readonly string[]).includes(x);
}

export function isBankPermission(x: unknown): x is BankPermission {
  return typeof x === 'string' && (BANK_PERMISSIONS as readonly string[]).includes(x);
}

/** Whether `role` holds `permission` at the console (public is always allowed). */
export function bankCan(role: AccountRole, permission: BankPermission): boolean {
  return permission === 'public' || BANK_ROLE_PERMISSIONS[role].has(permission);
}
