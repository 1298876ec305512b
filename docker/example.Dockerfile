# The example app (apps/example) with the library built from this checkout.
# Built by docker-compose.yml at the repository root:
#   docker compose build
# or alone, from the repository root:
#   docker build -f docker/example.Dockerfile -t backjob-example .

# Full image to build: better-sqlite3 compiles its addon when no prebuilt
# binary fits, which needs python3, make and g++.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/backjob/package.json libs/backjob/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY libs/backjob libs/backjob
COPY apps/example apps/example
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
# node_modules keeps the workspace link nestjs-backjob -> libs/backjob.
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/libs/backjob/package.json libs/backjob/
COPY --from=build --chown=node:node /app/libs/backjob/dist libs/backjob/dist
COPY --from=build --chown=node:node /app/apps/example/dist apps/example/dist
COPY --from=build --chown=node:node /app/apps/example/public apps/example/public
USER node
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "apps/example/dist/main.js"]
