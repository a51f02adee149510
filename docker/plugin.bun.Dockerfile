# One Switchyard plugin on Bun; the plugin folder is chosen at build time.
#   docker build -f docker/plugin.bun.Dockerfile --build-arg PLUGIN=counter -t switchyard-counter:bun .
# The folder name must be the plugin's `name` (the health check pings that name).
# Ignore file: docker/plugin.bun.Dockerfile.dockerignore.

# Stage 1: production dependencies from package-lock.json (see router.deno.Dockerfile).
FROM node:24.21.0-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 2: the runtime; code and node_modules stay owned by root (read-only for the app user).
FROM oven/bun:1.4.5-slim
ARG PLUGIN=hello
WORKDIR /app
ENV SWITCHYARD_PLUGIN=${PLUGIN}
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY plugins/${PLUGIN} ./plugins/${PLUGIN}
# Exec-form CMD cannot expand ${PLUGIN}; see plugin.deno.Dockerfile for the link.
RUN test -f "plugins/${PLUGIN}/mod.ts" && ln -s "${PLUGIN}" plugins/_selected
LABEL org.opencontainers.image.title="switchyard-plugin-${PLUGIN}"
USER 1000:1000
STOPSIGNAL SIGTERM
# Healthy while an instance of this plugin answers $SRV.PING on NATS_URL (shell form: expands the name).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD bun run src/cli/main.ts ping "$SWITCHYARD_PLUGIN" || exit 1
ENTRYPOINT ["bun", "run", "src/cli/main.ts"]
CMD ["plugin", "plugins/_selected/mod.ts"]
