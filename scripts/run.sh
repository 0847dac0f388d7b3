#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs dependencies, builds, and starts
# `tandem serve` (OpenAI-compatible API on http://127.0.0.1:8080) on the embedded demo model.
# Arguments replace the default: ./scripts/run.sh run -p "In the beginning" ...
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
if [ $# -eq 0 ]; then set -- serve; fi
exec ./build/src/cli/tandem "$@"
