# FinSecure bank client: trains the shared model on this bank's own transactions and
# sends only model updates to the aggregator.
#
#   docker build -f docker/bank-client.Dockerfile -t finsecure-bank .    (context = repo root)
#   docker run -v /srv/bank-data:/data:ro -v bank-state:/state \
#     -e FINSECURE_SERVER=wss://aggregator.example:8080/ws/bank -e FINSECURE_BANK_ID=bank-a \
#     -e FINSECURE_BANK_TOKEN=... finsecure-bank
#
# The transactions are read from /data/train.csv (FINSECURE_DATA; mount it read-only);
# the latest global model and the privacy ledger are kept in /state (FINSECURE_STATE_DIR).
# Score new transactions with the saved model:
#   docker run ... finsecure-bank score -m /state/model -d /data/new.csv -o /state/scores.csv
#
# Build argument TFJS_NODE (default true) installs the optional native TensorFlow backend,
# about twice as fast for local training as wasm. Where its download or build fails
# (e.g. linux/arm64) npm drops it and the wasm backend is used; TFJS_NODE=false skips it
# and gives a ~0.5 GB smaller image.
#
# Stages: manifests (the package.json of every workspace, for npm ci)
#         build (whole workspace, compiles TypeScript)
#         deps  (production dependencies of the bank client only)
#         runtime (deps + built dist/ folders, non-root)

# ---- manifests: every workspace's package.json and nothing else ----
# npm ci needs the manifest of every workspace the lock file lists. Collecting them
# here (instead of naming each package) keeps up with new workspaces, and since this
# stage's output changes only when a manifest does, the npm ci layers below stay cached
# when only source code changes.
FROM node:20-bookworm-slim AS manifests
WORKDIR /app
COPY packages ./packages
RUN find packages -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} + \
 && find packages -mindepth 1 -maxdepth 1 -type d ! -exec test -f {}/package.json \; -exec rm -rf {} +

# ---- build: identical in docker/aggregator.Dockerfile, so Docker reuses its layers ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV npm_config_update_notifier=false
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY --from=manifests /app/packages ./packages
# --ignore-scripts: compiling TypeScript and bundling the dashboard needs no native
# module (better-sqlite3 and tfjs-node are built in the deps stage, where they are kept).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages ./packages
RUN npm run build

# ---- deps: production node_modules of the bank client, the built FinSecure packages it imports and the console app ----
FROM node:20-bookworm-slim AS deps
# Toolchain for tfjs-node's build-from-source fallback; none of it reaches the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY --from=manifests /app/packages ./packages
ARG TFJS_NODE=true
# tfjs-node is an optionalDependency: when its native download fails npm drops it and
# the wasm backend (a regular dependency) is used. --omit=optional skips it outright.
RUN if [ "$TFJS_NODE" = "true" ]; then omit=""; else omit="--omit=optional"; fi \
 && npm ci --omit=dev $omit --workspace @finsecure/bank-client --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/packages/common/dist packages/common/dist
COPY --from=build /app/packages/accounts/dist packages/accounts/dist
COPY --from=build /app/packages/bank-client/dist packages/bank-client/dist
COPY --from=build /app/packages/console/dist packages/console/dist
# Fail the build here, not at start-up, if the runtime tree is incomplete.
RUN node packages/bank-client/dist/cli/main.js --help > /dev/null \
 && node -e "require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')" \
 && test -f packages/console/dist/index.html \
 && find packages -name '*.tsbuildinfo' -delete

# ---- runtime ----
FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="finsecure-bank" \
      org.opencontainers.image.description="FinSecure bank client: local training on the bank's own data, only model updates leave" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    FINSECURE_DATA=/data/train.csv \
    FINSECURE_STATE_DIR=/state
WORKDIR /app
# Code stays owned by root (read-only to the service). /data is mounted read-only;
# /state must be writable by the service: a named volume mounted there starts with
# this ownership.
COPY --from=deps /app /app
RUN mkdir -p /data /state && chown node:node /state
USER node
# The bank client only makes outgoing connections and has no HTTP endpoint to probe;
# a crash ends the process and the restart policy takes over.
HEALTHCHECK NONE
ENTRYPOINT ["node", "/app/packages/bank-client/dist/cli/main.js"]
CMD ["start"]
