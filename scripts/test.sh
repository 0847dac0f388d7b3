#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs dependencies (Debian packages, and
# the official `openai` npm client for the end-to-end server test), builds with warnings as
# errors, runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi
npm ci --prefix tests/server/node --no-audit --no-fund --loglevel=error
./scripts/build.sh -DTANDEM_WERROR=ON
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 900
