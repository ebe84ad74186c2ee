# FinSecure aggregator: federated rounds over WebSocket, admin API, dashboard at /.
#
#   docker build -f docker/aggregator.Dockerfile -t finsecure-aggregator .    (context = repo root)
#   docker run -p 8080:8080 -e FINSECURE_ADMIN_TOKEN=... -e MONGODB_URI=... finsecure-aggregator
#
# Without MONGODB_URI it keeps a SQLite file in /var/lib/finsecure: mount a volume there.
# Build argument TFJS_NODE=true also tries the optional native TensorFlow backend
# (@tensorflow/tfjs-node, ~0.5 GB). It is off by default here: the aggregator only averages
# weights, which the wasm backend does in well under a millisecond.
#
# Stages: manifests (the package.json of every workspace, for npm ci)
#         build (whole workspace, compiles TypeScript and the dashboard)
#         deps  (production dependencies of the aggregator only, native modules compiled)
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

# ---- build: identical in docker/bank-client.Dockerfile, so Docker reuses its layers ----
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

# ---- deps: production node_modules of the aggregator, and the built FinSecure packages it imports ----
FROM node:20-bookworm-slim AS deps
# better-sqlite3 is a native module: python3, make and g++ build it when no prebuilt
# binary can be downloaded. None of this reaches the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY --from=manifests /app/packages ./packages
ARG TFJS_NODE=false
# tfjs-node is an optionalDependency: when its native download fails npm drops it and
# the wasm backend (a regular dependency) is used. --omit=optional skips it outright.
RUN if [ "$TFJS_NODE" = "true" ]; then omit=""; else omit="--omit=optional"; fi \
 && npm ci --omit=dev $omit --workspace @finsecure/aggregator --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/packages/common/dist packages/common/dist
COPY --from=build /app/packages/accounts/dist packages/accounts/dist
COPY --from=build /app/packages/aggregator/dist packages/aggregator/dist
COPY --from=build /app/packages/dashboard/dist packages/dashboard/dist
COPY docker/healthcheck.mjs docker/healthcheck.mjs
# Fail the build here, not at start-up, if the runtime tree is incomplete.
RUN node packages/aggregator/dist/cli/main.js --help > /dev/null \
 && node -e "new (require('better-sqlite3'))(':memory:').close(); require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')" \
 && node --input-type=module -e "await import('mongodb')" \
 && test -f packages/dashboard/dist/index.html \
 && find packages -name '*.tsbuildinfo' -delete

# ---- runtime ----
FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="finsecure-aggregator" \
      org.opencontainers.image.description="FinSecure aggregator: federated fraud-detection rounds, admin API and dashboard" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    FINSECURE_HOST=0.0.0.0 \
    FINSECURE_PORT=8080 \
    FINSECURE_DATA_DIR=/var/lib/finsecure \
    FINSECURE_DASHBOARD_DIR=/app/packages/dashboard/dist
WORKDIR /app
# Code stays owned by root (read-only to the service); only the data directory is the
# service's. A named volume mounted there starts with this ownership.
COPY --from=deps /app /app
RUN mkdir -p /var/lib/finsecure && chown node:node /var/lib/finsecure
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/docker/healthcheck.mjs"]
# Settings come from the environment (see .env.example); extra arguments are flags,
# e.g. `docker run ... finsecure-aggregator --rounds 50 --min-banks 3 --auto-start`.
ENTRYPOINT ["node", "/app/packages/aggregator/dist/cli/main.js"]
CMD []
