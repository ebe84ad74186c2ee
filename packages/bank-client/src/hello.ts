/**
 * The bank's `hello`, the first frame on every connection: who it is (bank id, token, identity key
 * for secure aggregation), its software and TF.js backend, and the aggregates the aggregator checks
 * before it lets the bank in (row and fraud counts, feature statistics of the training split for
 * the global scaler, its local DP settings). Never a row.
 */
import { BANK_FEATURES, PROTOCOL_VERSION, type FederationClientMessage } from '@finsecure/common/protocol';
import type { BackendInfo } from '@finsecure/common/model';
import { toBase64, type IdentityKeyPair } from '@finsecure/common/secagg';
import type { BankConfig } from './config/index.js';
import type { LocalData } from './local-data.js';
import type { LocalModel } from './local-model.js';

export const CLIENT_VERSION = '0.1.0';

export function helloOf(
  config: BankConfig,
  data: LocalData,
  backend: BackendInfo,
  identity: IdentityKeyPair,
  model: LocalModel,
): FederationClientMessage {
  const dp = model.localDp();
  return {
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    bankId: config.bankId,
    token: config.token,
    clientVersion: CLIENT_VERSION,
    backend: backend.backend,
    sentAt: Date.now(),
    numExamples: data.train.numRows,
    numFraud: data.numFraud,
    numTestExamples: data.test.numRows,
    numFeatures: data.train.numFeatures,
    featureStats: data.stats,
    identityKey: toBase64(identity.publicKey),
    // FrameDispatch keeps the model it was sent and the candidate it evaluated (model-held.ts).
    features: [BANK_FEATURES.modelByReference],
    ...(dp ? { dp } : {}),
  };
}
