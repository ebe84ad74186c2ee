export { canonicalJson, normaliseJson, type JsonValue } from './canonical.js';
export { ChainVerifier, GENESIS_HASH, hashEntry, nextEntry, verifyChain, type ChainHead } from './chain.js';
