#!/usr/bin/env bash
# Runs the router and docs suites again on the other Node.js majors the project supports (it targets 20, 22 and 24),
# with Node binaries from the npm registry, cached per version (scripts/node-binary.sh). Linux x64 only.
set -euo pipefail
cd "$(dirname "$0")/.."
for version in 22.23.3 24.9.0; do
  node=$(bash scripts/node-binary.sh "$version")
  echo "Router suites on Node.js $("$node" --version):"
  PATH="$(dirname "$node"):$PATH" node node_modules/vitest/vitest.mjs run test/router test/docs
done
