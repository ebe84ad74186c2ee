/**
 * The bank's side of the secagg workflow: answers each of the five requests with the SecAgg+
 * core (common/secagg), trains in the masked-fit stage like a plain fit, weights and encodes its
 * own update (common/secagg/fedavg.ts) and sends it masked. Whatever the core refuses (a bad
 * signature, a changed key or survivor list, too few neighbours) is answered with
 * `secagg_refused`, naming the stage and the banks, and logged: the round goes on without us.
 */
import type { Logger } from 'pino';
import type {
  FederationClientMessage,
  SecAggServerMessage,
  TensorInput,
  Scaler,
  TrainingConfig,
} from '@finsecure/common/protocol';
import {
  advertisementFromWire,
  advertisementToWire,
  encodeFixedPoint,
  identitiesFromWire,
  incomingFromWire,
  isSecAggError,
  paramsFromWire,
  SecAggBankRound,
  secureFedAvgInput,
  sharesToWire,
  signaturesFromWire,
  toBase64,
  unmaskToWire,
  type FixedPointParams,
  type IdentityKeyPair,
} from '@finsecure/common/secagg';
import { PinnedIdentities } from './identity.js';
import type { FitOutput } from '../round-work.js';

export interface SecureFitDeps {
  bankId: string;
  identity: IdentityKeyPair;
  pinned: PinnedIdentities;
  logger: Logger;
  /** Trains on the bank's data from `global` (as a plain fit does). */
  train(roundId: number, global: Float32Array, config: TrainingConfig, scaler: Scaler): Promise<FitOutput>;
  send(msg: FederationClientMessage, tensors?: TensorInput[]): void;
}

interface Current {
  roundId: number;
  session: string;
  core: SecAggBankRound;
  fixedPoint: FixedPointParams;
}

export class SecureFit {
  private current: Current | null = null;

  constructor(private readonly deps: SecureFitDeps) {}

  /** Handles one secagg request; never throws (refusals are sent, errors logged). */
  async handle(msg: SecAggServerMessage, tensors: ReadonlyMap<string, { data: Float32Array }>): Promise<void> {
    const base = { roundId: msg.roundId, session: msg.session };
    try {
      if (msg.type === 'secagg_advertise_keys') {
        const directory = identitiesFromWire(msg);
        this.deps.pinned.check(directory);
        const core = new SecAggBankRound({ bankId: this.deps.bankId, identity: this.deps.identity, directory });
        const params = paramsFromWire(msg);
        const advertisement = core.advertiseKeys(params);
        this.current = { ...base, core, fixedPoint: params.fixedPoint };
        this.deps.send({ type: 'secagg_keys', ...base, advertisement: advertisementToWire(advertisement) });
        return;
      }
      const cur = this.current;
      if (!cur || cur.roundId !== msg.roundId || cur.session !== msg.session) {
        this.deps.logger.warn(
          { roundId: msg.roundId, type: msg.type },
          'secure-aggregation request for a round this bank did not start; ignored',
        );
        return;
      }
      const rid = `${msg.roundId}/${msg.session}`;
      switch (msg.type) {
        case 'secagg_share_keys': {
          const res = await cur.core.shareKeys(rid, msg.keys.map(advertisementFromWire));
          this.deps.send({ type: 'secagg_shares', ...base, ...sharesToWire(res) });
          return;
        }
        case 'secagg_masked_fit': {
          const global = tensors.get('global')?.data;
          if (!global) throw new Error('masked-fit request without a "global" tensor');
          const out = await this.deps.train(msg.roundId, global, msg.config, msg.scaler);
          const input = secureFedAvgInput(out.delta, out, msg.config, msg.weighting);
          const { encoded, clipped } = encodeFixedPoint(input.values, input.weight, cur.fixedPoint);
          const masked = cur.core.maskedFit(rid, incomingFromWire(msg.shares), encoded);
          this.deps.send(
            {
              type: 'secagg_masked_update',
              ...base,
              modelVersion: msg.modelVersion,
              signature: toBase64(masked.signature),
              loss: out.loss,
              timings: { trainMs: out.trainMs, prepareMs: out.prepareMs },
            },
            [{ name: 'masked', shape: [masked.masked.length], data: masked.masked }],
          );
          this.deps.logger.info(
            {
              roundId: msg.roundId,
              loss: Number(out.loss.toFixed(5)),
              weight: Number(input.weight.toFixed(4)),
              clipped,
            },
            'masked update sent',
          );
          return;
        }
        case 'secagg_consistency_check': {
          const signature = cur.core.signSurvivors(rid, msg.survivors);
          this.deps.send({ type: 'secagg_survivors_signed', ...base, signature: toBase64(signature) });
          return;
        }
        case 'secagg_unmask': {
          const res = cur.core.unmask(rid, msg.survivors, signaturesFromWire(msg.signatures));
          this.deps.send({ type: 'secagg_unmask_shares', ...base, ...unmaskToWire(res) });
          this.current = null;
          return;
        }
      }
    } catch (err) {
      const stage = STAGE_OF[msg.type];
      const reason = (err as Error).message.slice(0, 2000);
      const code = isSecAggError(err) ? err.code : 'bank_error';
      const banks = isSecAggError(err) ? [...err.banks].slice(0, 255) : [];
      this.deps.logger.error(
        { roundId: msg.roundId, stage, code, banks },
        `refusing a secure-aggregation step: ${reason}`,
      );
      this.deps.send({ type: 'secagg_refused', ...base, stage, code, reason, banks });
      if (stage === 'advertise_keys' || isSecAggError(err)) this.current = null;
    }
  }
}

const STAGE_OF = {
  secagg_advertise_keys: 'advertise_keys',
  secagg_share_keys: 'share_keys',
  secagg_masked_fit: 'masked_fit',
  secagg_consistency_check: 'consistency_check',
  secagg_unmask: 'unmask',
} as const;
