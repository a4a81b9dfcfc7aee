# The project's image plus the MCP servers the end-to-end suites use as upstreams, installed from the npm registry at
# build time (pods have no egress): server-everything (stdio, and Streamable HTTP/SSE as its own Deployment) and
# server-memory, in /opt/mcp-servers/node_modules. Built by `npm run image` after the project's image.
FROM localhost/kube-mcp-router:dev
USER 0:0
WORKDIR /opt/mcp-servers
COPY test/images/test-servers/package.json test/images/test-servers/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
WORKDIR /app
USER 1000:1000
