# One Switchyard plugin on Deno; the plugin folder is chosen at build time.
#   docker build -f docker/plugin.deno.Dockerfile --build-arg PLUGIN=hello -t switchyard-hello:deno .
# The folder name must be the plugin's `name` (the health check pings that name).
# Ignore file: docker/plugin.deno.Dockerfile.dockerignore.

# Stage 1: production dependencies from package-lock.json (see router.deno.Dockerfile).
FROM node:24.21.0-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 2: the runtime; code and node_modules stay owned by root (read-only for the app user).
FROM denoland/deno:debian-2.9.6
ARG PLUGIN=hello
WORKDIR /app
ENV DENO_NO_UPDATE_CHECK=1 SWITCHYARD_PLUGIN=${PLUGIN}
COPY --from=deps /app/node_modules ./node_modules
COPY package.json deno.json ./
COPY src ./src
COPY plugins/${PLUGIN} ./plugins/${PLUGIN}
# Exec-form CMD cannot expand ${PLUGIN}, so a fixed link names the chosen folder. It sits at the same
# depth as the real folder, so the plugin's relative imports (../../src/...) resolve the same either way.
RUN test -f "plugins/${PLUGIN}/mod.ts" && ln -s "${PLUGIN}" plugins/_selected
LABEL org.opencontainers.image.title="switchyard-plugin-${PLUGIN}"
USER 1993:1993
STOPSIGNAL SIGTERM
# Healthy while an instance of this plugin answers $SRV.PING on NATS_URL (shell form: expands the name).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD deno run --no-prompt --allow-net --allow-env --allow-read --allow-sys=hostname,osRelease src/cli/main.ts ping "$SWITCHYARD_PLUGIN" || exit 1
# Permissions: net (NATS, OTLP), env, read, sys=hostname,osRelease. A plugin that needs more (a file to
# write, a subprocess) gets its own image with the extra flag, never --allow-all.
ENTRYPOINT ["deno", "run", "--no-prompt", "--allow-net", "--allow-env", "--allow-read", "--allow-sys=hostname,osRelease", "src/cli/main.ts"]
CMD ["plugin", "plugins/_selected/mod.ts"]
