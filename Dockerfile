# syntax=docker/dockerfile:1
# The one image of kube-mcp-router: the operator (`kube-mcp-router operator`) and the routers
# (`kube-mcp-router router`). See docs/image.md for building and pushing it.
#
#   docker build -t ghcr.io/kube-mcp-router/kube-mcp-router:0.1.0 --build-arg VERSION=0.1.0 .

# Node 24, an LTS line, pinned by major (pin the digest too when reproducibility matters more than patch updates).

FROM node:24-slim AS build
WORKDIR /app
# onnxruntime-node's install script would download CUDA libraries from NuGet on linux/x64; the CPU runtime it ships
# in the npm package is all the router uses (package.json `allowScripts` says the same to npm versions that read it).
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json cli.ts telemetry.ts ./
COPY router ./router
COPY operator ./operator
RUN npm run build

FROM node:24-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="kube-mcp-router" \
      org.opencontainers.image.description="An MCP router for Kubernetes: aggregates MCP servers behind one endpoint, with an operator for McpUpstream and McpRouter resources" \
      org.opencontainers.image.source="https://github.com/kube-mcp-router/kube-mcp-router" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# Router pods run with a read-only root filesystem and an emptyDir on /tmp: stdio upstreams started with `npx -y`
# need a writable HOME and npm cache there (the operator also sets both on the router container).
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    HOME=/tmp \
    npm_config_cache=/tmp/.npm \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Reference MCP servers, so that stdio upstreams and the examples work where pods cannot download anything (no
# `npx -y`): server-everything and server-memory, pinned by their own lock, with `mcp-server-everything` and
# `mcp-server-memory` on PATH. Before the project's own layers: they change rarely and stay cached.
WORKDIR /opt/mcp-servers
COPY image/mcp-servers/package.json image/mcp-servers/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && ln -s /opt/mcp-servers/node_modules/.bin/mcp-server-everything /opt/mcp-servers/node_modules/.bin/mcp-server-memory /usr/local/bin/

WORKDIR /app
COPY package.json package-lock.json ./
# onnxruntime-node ships its native runtime for every platform; the image keeps Linux's (220 MB less).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32
COPY --from=build /app/dist ./dist
# `kube-mcp-router` on PATH: the operator renders router pods with `command: [kube-mcp-router]`. Node follows the
# link to /app/dist, so /app/node_modules resolves.
RUN chmod 0755 /app/dist/cli.js && ln -s /app/dist/cli.js /usr/local/bin/kube-mcp-router

# The `node` user of the base image, by number: `runAsNonRoot` can only verify a numeric user.
USER 1000:1000
ENTRYPOINT ["kube-mcp-router"]
CMD ["--help"]
