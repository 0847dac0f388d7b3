#!/usr/bin/env bash
# Installs what tools/train_demo_model.py needs, from Debian 12's packages only:
#   python3-torch          the training framework (CPU build)
#   libopenblas0-pthread   an optimised BLAS; without it Debian's torch falls back to the reference
#                          libblas.so.3 (~4 GFLOP/s instead of ~110 GFLOP/s: training would take hours)
#   bible-kjv-text         the King James Bible (public domain), compressed
#   bible-kjv              the `bible` program that prints that text verse by verse
#   wordnet-base           WordNet 3.0 database (glosses for the word-definition chat turns)
set -euo pipefail
PACKAGES=(python3 python3-numpy python3-torch libopenblas0-pthread bible-kjv-text bible-kjv wordnet-base)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup_train_env: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup_train_env: all packages present (${PACKAGES[*]})"
fi
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
echo "setup_train_env: libblas.so.3 -> ${blas:-?}"
case "$blas" in
  *openblas*) echo "setup_train_env: OpenBLAS is the active BLAS (fast training)";;
  *) echo "setup_train_env: WARNING: the reference BLAS is active; training will be ~25x slower." >&2
     echo "  fix: update-alternatives --config libblas.so.3-x86_64-linux-gnu (pick openblas-pthread)" >&2;;
esac
