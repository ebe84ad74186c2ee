/**
 * Aggregator configuration. One schema, three sources (file < environment < flags),
 * validated once at start-up so that a bad value stops the service with a message that
 * names the setting instead of failing later in the middle of a round.
 */
import { TrainingConfig } from '@finsecure/common/protocol';
import { z } from 'zod';
import { DEFAULT_RULES, RoundRules } from '../round/rules.js';

export const ModelSpecSchema = z.object({
  inputSize: z.number().int().min(1).max(10_000),
  hidden: z.array(z.number().int().min(1).max(4096)).min(1).max(8),
  dropout: z.number().min(0).lt(1),
});

export const DEFAULT_MODEL = { inputSize: 30, hidden: [64, 32], dropout: 0.2 };

/**
 * Local training defaults, chosen by measurement together with the FedAvg options
 * (DEFAULT_FEDAVG in round/rules.ts; bench/RESULTS.md, "Choosing the defaults"): Adam at
 * 0.003 lets 20 short rounds converge, and SMOTE is capped at 5 synthetic rows per real
 * fraud (uncapped, a bank with 1 fraud among 25,000 rows trains on 2,500 copies of it).
 */
export const DEFAULT_TRAINING: TrainingConfig = {
  epochs: 2,
  batchSize: 256,
  learningRate: 0.003,
  smoteRatio: 0.1,
  smoteK: 5,
  smoteMaxMultiplier: 5,
  updateEncoding: 'float32',
};

export const AggregatorConfig = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Directory for the SQLite file when MongoDB is not used. */
    dataDir: z.string().min(1).default('./data'),
    sqlitePath: z.string().min(1).optional(),
    /** Ed25519 key signing the audit head and checkpoints (default <data-dir>/audit-key.pem; created, mode 0600). */
    auditKeyFile: z.string().min(1).optional(),
    mongodbUri: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
      .optional(),
    mongodbDb: z.string().min(1).default('finsecure'),
    /** Admin token (required for changes through the API). Never logged. */
    adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Read-only token for dashboard viewers. Never logged. */
    viewerToken: z.string().min(16, 'must be at least 16 characters').optional(),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    maxFrameBytes: z
      .number()
      .int()
      .min(1024)
      .max(1 << 30)
      .default(64 * 1024 * 1024),
    /**
     * Bytes queued for one bank that is not reading, beyond which its connection is cut at the
     * next frame sent to it (close 1013). Default: four of the model's frames, at least 8 MiB (federation/session.ts
     * sendQueueLimitBytes).
     */
    maxQueuedBytesPerBank: z
      .number()
      .int()
      .min(64 * 1024)
      .max(2 ** 32)
      .optional(),
    heartbeatIntervalMs: z.number().int().min(100).max(600_000).default(5_000),
    heartbeatTimeoutMs: z.number().int().min(300).max(3_600_000).default(20_000),
    /**
     * Milliseconds an HTTP request has to arrive whole, headers and body (Node then answers 408
     * and closes the socket; server/request-limits.ts requestTimeouts). Without it, a client that stops in the
     * middle of a body holds its request open for ever. A WebSocket is not held to it once upgraded.
     */
    requestTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /** Milliseconds a new connection has to send its hello. */
    helloTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /**
     * Hello timeout for a connection from an address no bank has authenticated from yet
     * (the smaller of this and helloTimeoutMs applies): idle sockets of strangers go fast.
     */
    unknownPeerHelloTimeoutMs: z.number().int().min(100).max(600_000).default(3_000),
    /** Bank sockets waiting to authenticate, all addresses together (when full, the oldest idle one of the busiest address is closed). */
    maxUnauthenticated: z.number().int().min(1).max(100_000).default(256),
    /** Bank sockets waiting to authenticate from one address (IPv6: one /64). */
    maxUnauthenticatedPerAddress: z.number().int().min(1).max(100_000).default(16),
    /** Bank sockets from one address, authenticated or not. */
    maxConnectionsPerAddress: z.number().int().min(1).max(1_000_000).default(256),
    /** Failed bank logins from one address within bankLoginWindowMs before its new sockets are refused. */
    bankLoginMaxFailures: z.number().int().min(1).max(1_000_000).default(20),
    /** Window of bankLoginMaxFailures, ms (REST sign-in: 20 per 60 s). */
    bankLoginWindowMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
    /** Identical refusals from one address within this window are one audit entry plus one summary with a count. */
    refusalAuditWindowMs: z.number().int().min(1_000).max(86_400_000).default(60_000),
    model: ModelSpecSchema.default(DEFAULT_MODEL),
    training: TrainingConfig.default(DEFAULT_TRAINING),
    rules: RoundRules.default(DEFAULT_RULES),
    /** Start training as soon as enough banks are connected. */
    autoStart: z.boolean().default(false),
    seed: z.number().int().default(42),
    /** Directory of the built dashboard (served at /). */
    dashboardDir: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    backend: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    /** People (accounts/): administrators must set up TOTP before anything else. */
    adminMfa: z.boolean().default(true),
    /** A session ends after this many minutes without user activity. */
    sessionIdleMinutes: z.number().int().min(1).max(1440).default(15),
    /** A session ends this many hours after sign-in, whatever the activity. */
    sessionMaxHours: z.number().int().min(1).max(720).default(8),
  })
  .refine((c) => !!c.tlsCert === !!c.tlsKey, {
    message: 'tlsCert and tlsKey must be given together',
    path: ['tlsCert'],
  })
  .refine((c) => c.maxUnauthenticatedPerAddress <= c.maxUnauthenticated, {
    message: 'maxUnauthenticatedPerAddress must be at most maxUnauthenticated',
    path: ['maxUnauthenticatedPerAddress'],
  })
  .refine((c) => c.maxUnauthenticatedPerAddress <= c.maxConnectionsPerAddress, {
    message: 'maxUnauthenticatedPerAddress must be at most maxConnectionsPerAddress',
    path: ['maxUnauthenticatedPerAddress'],
  })
  .refine((c) => c.heartbeatTimeoutMs > c.heartbeatIntervalMs, {
    message: 'heartbeatTimeoutMs must be larger than heartbeatIntervalMs',
    path: ['heartbeatTimeoutMs'],
  });
export type AggregatorConfig = z.infer<typeof AggregatorConfig>;
export type AggregatorConfigInput = z.input<typeof AggregatorConfig>;

/** Environment variables and the config keys they set (documented in .env.example). */
export const ENV_VARS: Record<
  string,
  {
    key: keyof AggregatorConfigInput | `${'rules' | 'training' | 'model'}.${string}`;
    type: 'string' | 'number' | 'boolean';
  }
> = {
  FINSECURE_HOST: { key: 'host', type: 'string' },
  FINSECURE_PORT: { key: 'port', type: 'number' },
  FINSECURE_DATA_DIR: { key: 'dataDir', type: 'string' },
  FINSECURE_SQLITE_PATH: { key: 'sqlitePath', type: 'string' },
  FINSECURE_AUDIT_KEY_FILE: { key: 'auditKeyFile', type: 'string' },
  MONGODB_URI: { key: 'mongodbUri', type: 'string' },
  FINSECURE_MONGODB_DB: { key: 'mongodbDb', type: 'string' },
  FINSECURE_ADMIN_TOKEN: { key: 'adminToken', type: 'string' },
  FINSECURE_VIEWER_TOKEN: { key: 'viewerToken', type: 'string' },
  FINSECURE_TLS_CERT: { key: 'tlsCert', type: 'string' },
  FINSECURE_TLS_KEY: { key: 'tlsKey', type: 'string' },
  FINSECURE_MAX_FRAME_BYTES: { key: 'maxFrameBytes', type: 'number' },
  FINSECURE_MAX_QUEUED_BYTES_PER_BANK: { key: 'maxQueuedBytesPerBank', type: 'number' },
  FINSECURE_HEARTBEAT_INTERVAL_MS: { key: 'heartbeatIntervalMs', type: 'number' },
  FINSECURE_HEARTBEAT_TIMEOUT_MS: { key: 'heartbeatTimeoutMs', type: 'number' },
  FINSECURE_AUTO_START: { key: 'autoStart', type: 'boolean' },
  FINSECURE_SEED: { key: 'seed', type: 'number' },
  FINSECURE_DASHBOARD_DIR: { key: 'dashboardDir', type: 'string' },
  FINSECURE_LOG_LEVEL: { key: 'logLevel', type: 'string' },
  FINSECURE_BACKEND: { key: 'backend', type: 'string' },
  FINSECURE_HELLO_TIMEOUT_MS: { key: 'helloTimeoutMs', type: 'number' },
  FINSECURE_REQUEST_TIMEOUT_MS: { key: 'requestTimeoutMs', type: 'number' },
  FINSECURE_UNKNOWN_PEER_HELLO_TIMEOUT_MS: { key: 'unknownPeerHelloTimeoutMs', type: 'number' },
  FINSECURE_MAX_UNAUTHENTICATED: { key: 'maxUnauthenticated', type: 'number' },
  FINSECURE_MAX_UNAUTHENTICATED_PER_ADDRESS: { key: 'maxUnauthenticatedPerAddress', type: 'number' },
  FINSECURE_MAX_CONNECTIONS_PER_ADDRESS: { key: 'maxConnectionsPerAddress', type: 'number' },
  FINSECURE_BANK_LOGIN_MAX_FAILURES: { key: 'bankLoginMaxFailures', type: 'number' },
  FINSECURE_BANK_LOGIN_WINDOW_MS: { key: 'bankLoginWindowMs', type: 'number' },
  FINSECURE_REFUSAL_AUDIT_WINDOW_MS: { key: 'refusalAuditWindowMs', type: 'number' },
  FINSECURE_ADMIN_MFA: { key: 'adminMfa', type: 'boolean' },
  FINSECURE_SESSION_IDLE_MINUTES: { key: 'sessionIdleMinutes', type: 'number' },
  FINSECURE_SESSION_MAX_HOURS: { key: 'sessionMaxHours', type: 'number' },
  FINSECURE_ROUNDS: { key: 'rules.rounds', type: 'number' },
  FINSECURE_FRACTION: { key: 'rules.fraction', type: 'number' },
  FINSECURE_MIN_BANKS: { key: 'rules.minBanks', type: 'number' },
  FINSECURE_QUORUM: { key: 'rules.quorum', type: 'number' },
  FINSECURE_ROUND_TIMEOUT_MS: { key: 'rules.roundTimeoutMs', type: 'number' },
  FINSECURE_GRACE_MS: { key: 'rules.graceMs', type: 'number' },
  FINSECURE_EVALUATION_TIMEOUT_MS: { key: 'rules.evaluationTimeoutMs', type: 'number' },
  FINSECURE_ROUND_INTERVAL_MS: { key: 'rules.roundIntervalMs', type: 'number' },
  FINSECURE_UPLOAD_SLOTS: { key: 'rules.uploadSlots', type: 'number' },
  FINSECURE_UPLOAD_GRANT_TIMEOUT_MS: { key: 'rules.uploadGrantTimeoutMs', type: 'number' },
  FINSECURE_UPLOAD_PRE_GRANT_BYTES: { key: 'rules.uploadPreGrantBytes', type: 'number' },
  FINSECURE_STRATEGY: { key: 'rules.strategy', type: 'string' },
  FINSECURE_MAX_SHARE: { key: 'rules.maxShare', type: 'number' },
  FINSECURE_NORMALIZE_STEPS: { key: 'rules.normalizeSteps', type: 'boolean' },
  FINSECURE_EXCLUDE_UNHEALTHY_BANKS: { key: 'rules.excludeUnhealthyBanks', type: 'boolean' },
  FINSECURE_LOSS_EXPONENT: { key: 'rules.lossExponent', type: 'number' },
  FINSECURE_SERVER_LEARNING_RATE: { key: 'rules.serverLearningRate', type: 'number' },
  FINSECURE_SERVER_MOMENTUM: { key: 'rules.serverMomentum', type: 'number' },
  FINSECURE_MAX_UPDATE_NORM: { key: 'rules.maxUpdateNorm', type: 'number' },
  FINSECURE_BYZANTINE_F: { key: 'rules.byzantineF', type: 'number' },
  FINSECURE_MULTI_KRUM_M: { key: 'rules.multiKrumM', type: 'number' },
  FINSECURE_TRIM_FRACTION: { key: 'rules.trimFraction', type: 'number' },
  FINSECURE_CLIP_RADIUS: { key: 'rules.clipRadius', type: 'number' },
  FINSECURE_CLIP_ITERATIONS: { key: 'rules.clipIterations', type: 'number' },
  FINSECURE_ADAPTIVE_NORM_K: { key: 'rules.adaptiveNormK', type: 'number' },
  FINSECURE_ADAPTIVE_NORM_ACTION: { key: 'rules.adaptiveNormAction', type: 'string' },
  FINSECURE_SECURE_AGGREGATION: { key: 'rules.secureAggregation', type: 'boolean' },
  FINSECURE_SECAGG_THRESHOLD: { key: 'rules.secaggThreshold', type: 'number' },
  FINSECURE_SECAGG_DEGREE: { key: 'rules.secaggDegree', type: 'number' },
  FINSECURE_SECAGG_CLIP: { key: 'rules.secaggClip', type: 'number' },
  FINSECURE_SECAGG_FRACTIONAL_BITS: { key: 'rules.secaggFractionalBits', type: 'number' },
  FINSECURE_SECAGG_STAGE_TIMEOUT_MS: { key: 'rules.secaggStageTimeoutMs', type: 'number' },
  FINSECURE_MAX_EXAMPLE_RATIO: { key: 'rules.maxExampleRatio', type: 'number' },
  FINSECURE_WEIGHT_MAX_SHARE: { key: 'rules.weightMaxShare', type: 'number' },
  FINSECURE_EVALUATION_MAX_SHARE: { key: 'rules.evaluationMaxShare', type: 'number' },
  FINSECURE_MAX_NOISE_MULTIPLIER: { key: 'rules.maxNoiseMultiplier', type: 'number' },
  FINSECURE_MAX_AUPRC_DROP: { key: 'rules.maxAuprcDrop', type: 'number' },
  FINSECURE_QUARANTINE_AFTER_EXCLUSIONS: { key: 'rules.quarantineAfterExclusions', type: 'number' },
  FINSECURE_EPOCHS: { key: 'training.epochs', type: 'number' },
  FINSECURE_BATCH_SIZE: { key: 'training.batchSize', type: 'number' },
  FINSECURE_LEARNING_RATE: { key: 'training.learningRate', type: 'number' },
  FINSECURE_SMOTE_RATIO: { key: 'training.smoteRatio', type: 'number' },
  FINSECURE_SMOTE_K: { key: 'training.smoteK', type: 'number' },
  FINSECURE_SMOTE_MAX_MULTIPLIER: { key: 'training.smoteMaxMultiplier', type: 'number' },
  FINSECURE_UPDATE_ENCODING: { key: 'training.updateEncoding', type: 'string' },
  FINSECURE_INPUT_SIZE: { key: 'model.inputSize', type: 'number' },
};

/** Environment variable naming the JSON config file (same as --config). */
export const CONFIG_FILE_ENV = 'FINSECURE_CONFIG';
