#!/usr/bin/env bash
# Builds every Lambda function of template.yaml alone, for arm64 in release, zips its
# `bootstrap` as Lambda gets it, and prints a table: function, stripped binary size,
# zip size (bytes and MB, 1 MB = 1,000,000 bytes), build time, and whether the zip is
# within the target (3 MB; ZIP_LIMIT_BYTES overrides). Exits non-zero if any is above.
#
#   scripts/function-sizes.sh              every function of the template
#   scripts/function-sizes.sh agent ...    only these binaries
#
# Each function is built on its own (`-p <crate> --bin <binary>`) so Cargo's feature
# unification cannot link an AWS SDK that the function does not use. Builds go to
# CARGO_TARGET_DIR (default: target-lambda), not to the debug builds' target/.
# Installs what it lacks: the aarch64 rustup target, cargo-lambda (with zig, which
# cross-links) into ./.venv at the version pinned in infra/python/build-requirements.txt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

limit=${ZIP_LIMIT_BYTES:-3000000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target-lambda}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$root/$CARGO_TARGET_DIR" ;; esac
lambda_dir="$CARGO_TARGET_DIR/lambda"
rust_target=aarch64-unknown-linux-gnu

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- tools ---------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx "$rust_target"; then
  say "Adding the rustup target $rust_target"
  rustup target add "$rust_target"
fi

if [ ! -x .venv/bin/cargo-lambda ]; then
  say "Installing cargo-lambda (infra/python/build-requirements.txt) into .venv"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r infra/python/build-requirements.txt
fi
# cargo finds `cargo-lambda` on PATH; cargo-lambda finds zig through the venv's python.
export PATH="$root/.venv/bin:$PATH"

# --- the functions -------------------------------------------------------------------
# The `Binary:` of each AWS::Serverless::Function resource (top-level resources are
# indented two spaces in template.yaml).
template_binaries() {
  awk '
    function flush() { if (type == "AWS::Serverless::Function" && binary != "") print binary }
    /^  [A-Za-z0-9]+:[[:space:]]*$/ { flush(); type = ""; binary = "" }
    /^[^ #]/                        { flush(); type = ""; binary = "" }
    /^    Type:/                    { type = $2 }
    /^ +Binary:/                    { binary = $2 }
    END                             { flush() }
  ' template.yaml | tr -d "\"'"
}

if [ $# -gt 0 ]; then
  binaries=("$@")
else
  mapfile -t binaries < <(template_binaries)
fi
[ ${#binaries[@]} -gt 0 ] || { echo "no function binaries found in template.yaml" >&2; exit 1; }

# binary name -> workspace package that has it
metadata=$(cargo metadata --no-deps --format-version 1)
package_of() {
  python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    if any(t["name"] == sys.argv[1] and "bin" in t["kind"] for t in package["targets"]):
        print(package["name"])
        break
' "$1" <<<"$metadata"
}

# --- build and measure ----------------------------------------------------------------
rows=()
over=0
for bin in "${binaries[@]}"; do
  pkg=$(package_of "$bin")
  [ -n "$pkg" ] || { echo "no workspace package has a binary named $bin" >&2; exit 1; }
  say "Building $bin (package $pkg) for arm64, release"
  start=$(date +%s)
  cargo lambda build --release --arm64 --output-format zip --lambda-dir "$lambda_dir" \
    -p "$pkg" --bin "$bin"
  secs=$(( $(date +%s) - start ))
  # The binary's size as the zip holds it: exactly what Lambda runs.
  zip_file="$lambda_dir/$bin/bootstrap.zip"
  [ -f "$zip_file" ] || { echo "missing $zip_file" >&2; exit 1; }
  bin_bytes=$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).getinfo("bootstrap").file_size)' "$zip_file")
  zip_bytes=$(stat -c %s "$zip_file")
  if [ "$zip_bytes" -le "$limit" ]; then verdict=yes; else verdict=NO; over=1; fi
  rows+=("$bin $bin_bytes $zip_bytes $secs $verdict")
done

# --- table ----------------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1000000 }'; }
printf '\nRelease arm64 (%s), profile.release of Cargo.toml; target: zip <= %s bytes (%s MB)\n\n' \
  "$rust_target" "$limit" "$(mb "$limit")"
printf '%-16s %12s %8s %12s %8s %8s  %s\n' function "binary B" "bin MB" "zip B" "zip MB" "build s" "within target"
printf '%-16s %12s %8s %12s %8s %8s  %s\n' ---------------- ------------ -------- ------------ -------- -------- -------------
for row in "${rows[@]}"; do
  read -r bin bin_bytes zip_bytes secs verdict <<<"$row"
  printf '%-16s %12s %8s %12s %8s %8s  %s\n' "$bin" "$bin_bytes" "$(mb "$bin_bytes")" \
    "$zip_bytes" "$(mb "$zip_bytes")" "$secs" "$verdict"
done
exit "$over"
