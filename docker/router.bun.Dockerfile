# Switchyard router on Bun.
#   docker build -f docker/router.bun.Dockerfile -t switchyard-router:bun .   (context: the repo root)
# Ignore file: docker/router.bun.Dockerfile.dockerignore.

# Stage 1: production dependencies from package-lock.json (see router.deno.Dockerfile).
FROM node:24.21.0-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Stage 2: the runtime; code and node_modules stay owned by root (read-only for the app user).
FROM oven/bun:1.4.5-slim
WORKDIR /app
ENV PORT=8080
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# uid 1000 is the image's "bun" user; numeric so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bun", "-e", "const r = await fetch('http://127.0.0.1:' + (process.env.PORT ?? '8080') + '/health', { signal: AbortSignal.timeout(4000) }); process.exit(r.ok ? 0 : 1);"]
ENTRYPOINT ["bun", "run", "src/cli/main.ts"]
CMD ["router", "--host", "0.0.0.0"]
