#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs dependencies, builds, and runs tandem.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/src/cli/tandem "${@:-inspect}" 
