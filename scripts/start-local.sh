#!/usr/bin/env bash
# Runs the whole customer-success agent on this machine, no AWS account needed:
# moto (DynamoDB, SQS, SES), the real handlers, the HTTP API and the web form.
#
#   scripts/start-local.sh            # http://127.0.0.1:3000
#   PORT=8080 scripts/start-local.sh
#
# First run: installs moto into .venv and builds the web form (scripts/ensure-tools.sh),
# then compiles the local stack; later runs reuse all three. Ctrl-C stops everything.
#
# Environment: PORT (default 3000), AWS_REGION, AWS_ENDPOINT_URL (attach to a running
# moto instead of starting one), MODEL_PROVIDER (default offline), LOCAL_STACK_PROFILE
# (debug, the default, or release), RUST_LOG; for WhatsApp, TWILIO_AUTH_TOKEN (the token
# webhooks are signed with; default local-development-twilio-auth-token) and
# TWILIO_WEBHOOK_URL (the public URL signatures are checked against; default the
# gateway's /webhooks/whatsapp).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/ensure-tools.sh

# Debug by default: a cold build takes about half as long as release (about 4 vs 8
# minutes on 2 cores), shares target/debug with `cargo test`, and moto, not our
# handlers, dominates request time locally.
profile=()
[[ "${LOCAL_STACK_PROFILE:-debug}" == release ]] && profile=(--release)
export PORT="${PORT:-3000}"
printf '\033[1m==>\033[0m Starting the local stack on http://127.0.0.1:%s\n' "$PORT" >&2
exec cargo run "${profile[@]}" -p local-stack --bin local-stack
