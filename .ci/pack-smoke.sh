#!/usr/bin/env bash
# Packs the package, installs the tarball in an empty project, and runs `npx kimi-proxy`
# from it: the demo must answer a chat completion. Proves the published artifact works.
set -euo pipefail
root=$(pwd)
work=$(mktemp -d)
# Only the demo this script started is ended (`kill 0` would end the whole process group).
trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
tarball=$(npm pack --silent | tail -n 1)
mv "$tarball" "$work/"
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund "./$tarball" >/dev/null
npx kimi-proxy --version
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
# The installed bin itself, not through npx: npx runs it as a child, so ending npx's pid would
# leave the demo running after the script.
API_KEYS=sk-pack-smoke KIMI_TOKENS= ./node_modules/.bin/kimi-proxy demo --port "$port" > demo.log 2>&1 &
pid=$!
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done
reply=$(curl -fsS "http://127.0.0.1:$port/v1/chat/completions" \
  -H "Authorization: Bearer sk-pack-smoke" -H "Content-Type: application/json" \
  -d '{"model":"k2","messages":[{"role":"user","content":"[[emu reply=\"packed ok\"]]"}]}')
echo "$reply" | grep -q '"content":"packed ok"' || { echo "unexpected reply: $reply"; cat demo.log; exit 1; }
# The dashboard ships in the package: its page and its script are in the tarball.
# The listing goes to a file first: `tar | grep -q` under pipefail fails whenever grep stops
# reading before tar has written the whole listing (SIGPIPE), so a present file looked missing.
tar -tzf "$tarball" > listing.txt
grep -q '^package/dist/ui/index\.html$' listing.txt || { echo "dist/ui/index.html missing from the package"; exit 1; }
grep -qE '^package/dist/ui/assets/index-[^/]+\.js$' listing.txt || { echo "the dashboard script is missing from the package"; exit 1; }
echo "pack smoke test: ok"
cd "$root"
