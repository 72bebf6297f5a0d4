#!/usr/bin/env bash
# The test command (CI runs exactly this): set-up, build, all tests with CTest, then the unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer, the NEON kernel tests under
# qemu-aarch64, and a bounded fuzzing run of the GGUF parser.
#   scripts/test.sh            # everything
#   QB_TEST_FAST=1 scripts/test.sh   # only the main build's CTest run
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
status=0

echo "== ctest (Release build) =="
ctest --test-dir build --output-on-failure -j 2 || status=1

if [ "${QB_TEST_FAST:-0}" != 1 ]; then
  echo "== unit tests under ASan+UBSan =="
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQB_SANITIZE=ON \
        -DPython3_EXECUTABLE="$(command -v python3)" >/dev/null
  cmake --build build-asan -j "$(nproc)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -L unit -j 2 || status=1

  if [ -x scripts/test-neon.sh ]; then
    echo "== NEON kernels under qemu-aarch64 =="
    scripts/test-neon.sh || status=1
  fi
  if [ -x scripts/fuzz.sh ]; then
    echo "== GGUF parser fuzzing (60 s) =="
    scripts/fuzz.sh 60 || status=1
  fi
fi
exit $status
