/**
 * The unit that per-address limits count (IPv4 address, or IPv6 /64): one implementation, in
 * @finsecure/accounts (address.ts), which also counts rejected session cookies by it.
 */
export { addressKey } from '@finsecure/accounts';
