# kpx: the node daemon that replaces kube-proxy.
#
# Build:  docker build -t kpx:0.1.0 .
# The image runs as root: programming the host's packet filter needs CAP_NET_ADMIN
# (and CAP_NET_RAW for iptables-legacy) in the host's network namespace; the DaemonSet
# in deploy/ grants those capabilities only and drops the rest.

# ---- build: compile TypeScript with the dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the packet-filter tools ----
FROM node:20-bookworm-slim
# iptables: both iptables-legacy-* and iptables-nft-* (kpx picks the host's flavour);
# nftables: nft for nftables mode; conntrack: stale UDP flow cleanup; iproute2: ip, for
# diagnostics. Debian 12 ships iptables 1.8.9 and nft 1.0.6.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables nftables conntrack iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Node runs as PID 1: it gets no default signal handling, so `kpx run` handles SIGTERM itself.
# A 4 MiB young generation (Node 20 takes 16): 25 MiB less peak RSS at 10k services, no
# slower; a smaller inlining budget, so the first sync runs optimized code sooner (bench/
# harness/run.ts DAEMON_NODE_FLAGS, which the benchmark workers run with, has the figures).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--max-inlined-bytecode-size-cumulative=200", "/app/dist/src/cli/main.js"]
CMD ["run"]
