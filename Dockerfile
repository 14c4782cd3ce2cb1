# syntax=docker/dockerfile:1
# kyc-orchestrator: one image for every role (`all`, `api`, `worker`, `simulators`).
#   docker build -t kyc-orchestrator .
#   docker run --rm -e REDIS_URL=redis://redis:6379 kyc-orchestrator api

# 1. Production dependencies only (no compilers, no test tools).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 2. Compile TypeScript to dist/ (`npm run build` = tsc -p tsconfig.build.json; entry dist/main.js).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && test -f dist/main.js

# 3. Runtime: compiled code + production node_modules, as the unprivileged node user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The operator CLI (`npx kyc-orchestrator …` in the container); without src/ it runs dist/cli.
COPY bin ./bin
COPY package.json ./
COPY examples ./examples
USER node
# api: HTTP API, webhooks, /metrics, /healthz, /readyz, /admin/queues. worker: /metrics, /healthz, /readyz.
EXPOSE 3000
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--enable-source-maps", "dist/main.js"]
CMD ["all"]
