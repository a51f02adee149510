# Switchyard router on Deno.
#   docker build -f docker/router.deno.Dockerfile -t switchyard-router:deno .   (context: the repo root)
# Ignore file: docker/router.deno.Dockerfile.dockerignore (BuildKit reads it instead of a root .dockerignore).

# Stage 1: production dependencies from package-lock.json. Node is only the installer here; the
# deno/bun/node devDependencies are never installed (--omit=dev) and no install script runs.
FROM node:24.21.0-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 2: the runtime. Code and node_modules stay owned by root, so the app user can read but not change them.
FROM denoland/deno:debian-2.9.6
WORKDIR /app
ENV DENO_NO_UPDATE_CHECK=1 PORT=8080
COPY --from=deps /app/node_modules ./node_modules
# deno.json sets "nodeModulesDir": "manual": bare imports resolve from ./node_modules, nothing is fetched.
COPY package.json deno.json ./
COPY src ./src
# uid 1993 is the image's "deno" user (owner of DENO_DIR=/deno-dir); numeric so runAsNonRoot can verify it.
USER 1993:1993
EXPOSE 8080
STOPSIGNAL SIGTERM
# `deno eval` has no permission flags to grant; PORT follows the router's own env override.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["deno", "eval", "--no-config", "const r = await fetch('http://127.0.0.1:' + (Deno.env.get('PORT') ?? '8080') + '/health', { signal: AbortSignal.timeout(4000) }); Deno.exit(r.ok ? 0 : 1);"]
# Permissions: net (HTTP, NATS, OTLP), env (NATS_URL, PORT, OTEL_*), read (code, node_modules, --config
# file), sys=hostname,osRelease (OpenTelemetry resource attributes). No write, run or ffi.
ENTRYPOINT ["deno", "run", "--no-prompt", "--allow-net", "--allow-env", "--allow-read", "--allow-sys=hostname,osRelease", "src/cli/main.ts"]
CMD ["router", "--host", "0.0.0.0"]
