/**
 * What every plugin of the HTTP/WebSocket server needs, passed explicitly instead of
 * through globals so that several aggregators can run in one test process.
 */
import type { Logger } from 'pino';
import type { BackendInfo, MlpSpec } from '@finsecure/common/model';
import type { ApiAuth } from '../auth/tokens.js';
import type { AggregatorConfig } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { Clock } from '../federation/clock.js';
import type { Federation } from '../federation/federation.js';
import type { Store } from '../store/types.js';

export interface ServerContext {
  config: AggregatorConfig;
  federation: Federation;
  store: Store;
  auth: ApiAuth;
  events: EventBus;
  backend: BackendInfo;
  spec: MlpSpec;
  logger: Logger;
  version: string;
  startedAt: number;
  /** The federation's clock: admission's time and timers too, so that tests can drive them. */
  clock: Clock;
}
