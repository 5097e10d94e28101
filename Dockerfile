# respguard container image.
#
#   docker build -t respguard .
#   docker run -v /path/to/respguard.yaml:/etc/respguard/respguard.yaml:ro -p 6380:6380 respguard
#
# The image contains no config file: mount yours at /etc/respguard/respguard.yaml, or pass
# `--config PATH` as the command. Inside a container, 127.0.0.1 is not reachable from outside,
# so a published listener binds 0.0.0.0 and needs `tls` (or an explicit `allowPlaintext: true`).

# Build stage: compiles src/ to dist/ with the dev dependencies (TypeScript).
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci would run the `prepare` script (the build) here, before the sources are copied, so
# scripts are skipped and the build runs as its own step. This also keeps the dependency
# layer cached while only the sources change.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and the compiled code only.
FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` needs the dev dependencies, and dist/ comes from the build stage.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The config and certificates are mounted, never baked into the image.
VOLUME ["/etc/respguard"]
# The node image's unprivileged user (uid 1000); the proxy needs no root rights at run time.
USER node
EXPOSE 6380 9121
# Needs a `metrics` listener in the config (port 9121 here); the slim image has no curl, so Node checks /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:9121/healthz', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["node", "bin/respguard.js"]
CMD ["--config", "/etc/respguard/respguard.yaml"]
