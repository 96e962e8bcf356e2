# Ferry broker image: a standard multi-stage build on the official Node.js 20 (Debian bookworm) image.
#   docker build -t ferry:dev .
#   docker run -d -p 127.0.0.1:9092:9092 -v ferry-data:/var/lib/ferry ferry:dev
# Kept to what the legacy builder and Compose v1 accept (no "# syntax=" line, no BuildKit-only syntax).
# @node-rs/crc32 ships a prebuilt native package per platform (glibc: @node-rs/crc32-linux-x64-gnu),
# so the image stays on a glibc base (bookworm), not Alpine.

# ---- build: full dependencies, generate proto types, compile TypeScript -> dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# --ignore-scripts: package.json's "prepare" builds on install, which needs the sources copied below
# (and must not run at all in the runtime stage). No dependency needs an install script to work
# (@node-rs/crc32's native code comes as a prebuilt optional package).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
# The sources the build needs: tsconfig.json, proto/, scripts/, src/, cmd/, bench/ (.dockerignore keeps
# node_modules, dist, tests and docs out; one COPY also works while bench/ is still empty in git).
COPY . ./
RUN npm run build

# ---- runtime: production dependencies, compiled code and the .proto contract only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proto ./proto
RUN mkdir -p /var/lib/ferry && chown node:node /var/lib/ferry

USER node
EXPOSE 9092
VOLUME /var/lib/ferry

# gRPC health check (grpc.health.v1.Health/Check on the overall service ""), using node itself.
# SERVING -> healthy. UNIMPLEMENTED/NOT_FOUND still prove the gRPC server answers -> healthy.
# NOT_SERVING, refused connection or no answer within 4 s -> unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const g=require('@grpc/grpc-js'),l=require('@grpc/proto-loader');const H=g.loadPackageDefinition(l.loadSync('/app/node_modules/grpc-health-check/proto/health/v1/health.proto')).grpc.health.v1.Health;new H('127.0.0.1:9092',g.credentials.createInsecure()).check({service:''},{deadline:Date.now()+4000},(e,r)=>process.exit(e?(e.code===12||e.code===5?0:1):(r.status===1||r.status==='SERVING'?0:1)))"]

ENTRYPOINT ["node", "dist/cmd/ferry.js"]
CMD ["broker", "--data-dir", "/var/lib/ferry", "--host", "0.0.0.0", "--port", "9092"]
