#!/usr/bin/env bash
# Run linkgate locally: builds (if sources changed), creates .dev.vars with a
# fresh key and admin token (once), uploads a demo file into local R2, starts
# `wrangler dev` on 127.0.0.1:8787 (local KV, R2, D1 and Queues under
# .wrangler/state) and prints a working link and a curl line.
#
#   scripts/dev.sh            start in the foreground (Ctrl-C stops it)
#   DEV_DETACH=1 scripts/dev.sh   start, print the link, leave it running
#                             (stop with: kill "$(cat .wrangler/dev.pid)")
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT="${PORT:-8787}"
STATE=".wrangler/state"
mkdir -p "$STATE"

# Rebuild only when a source is newer than the last build.
if [[ ! -f build/index.js ]] || [[ -n "$(find src crates Cargo.toml Cargo.lock -newer build/index.js -print -quit)" ]]; then
  build_worker
else
  ensure_node_modules
  say "worker build is up to date"
fi
if [[ ! -x target/release/linkgate ]] || [[ -n "$(find crates Cargo.toml Cargo.lock -newer target/release/linkgate -print -quit)" ]]; then
  say "building the linkgate CLI"
  cargo build --release --bin linkgate
fi
LG="$ROOT/target/release/linkgate"

if [[ ! -f .dev.vars ]]; then
  say "creating .dev.vars (dev signing key and admin token; git-ignored)"
  umask 077
  {
    echo "LINKGATE_KEYS=\"$("$LG" keygen --kid dev)\""
    # 32 random bytes as 64 hex digits (the worker refuses tokens under 32 bytes).
    echo "LINKGATE_ADMIN_TOKEN=\"$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')\""
  } > .dev.vars
fi
# An Ed25519 key pair for the demo (docs/link-format.md §18): the private key
# in its own git-ignored file (what a signing application holds), only the
# public entry in .dev.vars (the worker never sees a private key).
if [[ ! -f .linkgate-signing.key ]] && ! grep -q '^LINKGATE_PUBLIC_KEYS=' .dev.vars; then
  say "creating an Ed25519 key pair: .linkgate-signing.key (signer), LINKGATE_PUBLIC_KEYS in .dev.vars (edge)"
  umask 077
  PAIR="$("$LG" keygen --ed25519 --kid dev-ed25519)"
  grep '^LINKGATE_SIGNING_KEY=' <<<"$PAIR" > .linkgate-signing.key
  grep '^LINKGATE_PUBLIC_KEYS=' <<<"$PAIR" | sed 's/=\(.*\)/="\1"/' >> .dev.vars
fi

DEMO="$STATE/demo-hello.txt"
# The marker is written only after a successful upload, so a failed run retries.
if [[ ! -f "$STATE/.demo-uploaded" ]]; then
  say "uploading the demo file into local R2 (linkgate-files/demo/hello.txt)"
  printf 'Hello from linkgate.\nThis file was served through a signed, expiring link.\n' > "$DEMO"
  wrangler r2 object put linkgate-files/demo/hello.txt --file "$DEMO" --content-type text/plain \
    --local --persist-to "$STATE" >/dev/null
  touch "$STATE/.demo-uploaded"
fi

say "applying D1 migrations to the local audit store"
wrangler d1 migrations apply LINKGATE_AUDIT --local --persist-to "$STATE" >/dev/null

if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then
  say "something already listens on 127.0.0.1:$PORT; stop it first (kill \"\$(cat .wrangler/dev.pid)\")"
  exit 1
fi

say "starting wrangler dev on http://127.0.0.1:$PORT"
wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE" --log-level warn > .wrangler/dev.log 2>&1 &
PID=$!
echo "$PID" > .wrangler/dev.pid
for _ in $(seq 1 120); do
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null; then break; fi
  if ! kill -0 "$PID" 2>/dev/null; then cat .wrangler/dev.log; say "wrangler dev exited"; exit 1; fi
  sleep 0.5
done

LINK="$("$LG" sign --keys .dev.vars --path /demo/hello.txt --ttl 24h --base "http://127.0.0.1:$PORT")"
cat <<MSG

linkgate is running on http://127.0.0.1:$PORT  (log: .wrangler/dev.log)

A demo link, valid for 24 hours:
  $LINK

Download it:
  curl -i '$LINK'

Mint more:  target/release/linkgate sign --keys .dev.vars --path /demo/hello.txt --ttl 15m
Ed25519:    target/release/linkgate sign --ed25519-key .linkgate-signing.key --path /demo/hello.txt --ttl 15m
Inspect:    target/release/linkgate inspect --keys .dev.vars '<link>'
Admin API:  the bearer token is LINKGATE_ADMIN_TOKEN in .dev.vars (see README, "Admin walk-through")
MSG

if [[ -n "${DEV_DETACH:-}" ]]; then
  exit 0
fi
trap 'kill "$PID" 2>/dev/null; rm -f .wrangler/dev.pid' INT TERM EXIT
wait "$PID"
