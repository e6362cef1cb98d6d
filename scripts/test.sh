#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, Rust unit and
# integration tests (against moto), the template linters, the web form's unit
# tests and its end-to-end tests in headless Chromium against the local stack.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

scripts/ensure-tools.sh --browser
export PATH="$root/.venv/bin:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
# Each function alone, with only its own adapters (features) on, as it is built for Lambda.
for function in functions/*/; do
  cargo clippy -p "$(basename "$function")" --quiet -- -D warnings
done

step "cargo test (unit, integration against moto, template lint)"
cargo test --workspace

if [ -f web-form/package.json ]; then
  step "web form unit tests (Vitest)"
  (cd web-form && npm test --silent)

  step "web form end-to-end tests (headless Chromium against the local stack)"
  # `cargo test --workspace` built the binary with the test run's features; reuse it.
  local_stack="${CARGO_TARGET_DIR:-target}/debug/local-stack"
  [ -x "$local_stack" ] || cargo build --quiet -p local-stack
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log=$(mktemp)
  PORT=$port "$local_stack" >"$log" 2>&1 &
  stack=$!
  trap 'kill $stack 2>/dev/null; wait $stack 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    kill -0 $stack 2>/dev/null || { cat "$log"; echo "the local stack did not start" >&2; exit 1; }
    sleep 0.5
  done
  (cd web-form && E2E_BASE_URL="http://127.0.0.1:$port" CHROMIUM_PATH="$(command -v chromium)" node --test e2e/) || { tail -50 "$log"; exit 1; }
fi
