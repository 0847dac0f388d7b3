#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs dependencies, builds with warnings
# as errors, runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh -DTANDEM_WERROR=ON
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 900
