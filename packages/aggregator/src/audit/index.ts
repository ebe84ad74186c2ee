export { canonicalJson, normaliseJson, type JsonValue } from './canonical.js';
export { ChainVerifier, GENESIS_HASH, hashEntry, nextEntry, verifyChain, type ChainHead } from './chain.js';
export { AnchoredVerifier, describeAnchors, type AnchorInputs, type WitnessedHead } from './anchor.js';
export { BANK_HEADS_FILE, parseBankHeads, readBankHeads } from './bank-heads.js';
export {
  AUDIT_KEY_FILE,
  checkCheckpointSignature,
  checkHeadSignature,
  loadAuditKey,
  loadAuditVerifierKey,
  publicKeyFileOf,
  type AuditSigner,
  type AuditVerifierKey,
  type SignedHead,
} from './signer.js';
export {
  LIFECYCLE_SETTING,
  recordShutdown,
  StoredStateError,
  verifyStoredState,
  type PreviousShutdown,
  type StartupReport,
} from './startup.js';
