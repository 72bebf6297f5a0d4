#!/usr/bin/env bash
# The main job: set up if needed, then `qbench run` with its defaults (or the arguments given).
#   scripts/run.sh                 # every suite, format and available backend; report in qbench-out/
#   scripts/run.sh --quick         # the same in two to three minutes
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/qbench ] || QB_SETUP_MINIMAL=1 scripts/setup.sh
cmake --build build -j "$(nproc)" >/dev/null
exec build/qbench run "$@"
