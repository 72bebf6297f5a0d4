#!/usr/bin/env bash
# The test command (CI runs exactly this): set-up, build, all tests with CTest, then the unit tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer, the NEON kernel tests under
# qemu-aarch64, and a bounded fuzzing run of the GGUF parser.
#   scripts/test.sh            # everything
#   QB_TEST_FAST=1 scripts/test.sh   # only the main build's CTest run
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
took() { echo "== test.sh: $1 took $((SECONDS - t1)) s (total $((SECONDS - t0)) s)"; }
t1=$SECONDS; scripts/setup.sh; took "set-up and Release build"
status=0

echo "== ctest (Release build) =="
t1=$SECONDS; ctest --test-dir build --output-on-failure -j 2 || status=1; took "ctest (Release)"

if [ "${QB_TEST_FAST:-0}" != 1 ]; then
  echo "== unit tests under ASan+UBSan =="
  t1=$SECONDS
  # -Og: g++ compiles the sanitized kernels 2.4x faster than at -O2 (9 s vs 21 s for one AVX-512
  # K-quant file), which keeps CI in its budget; the checks are the same.
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g -DNDEBUG" -DQB_SANITIZE=ON \
        -DPython3_EXECUTABLE="$(command -v python3)" >/dev/null
  cmake --build build-asan -j "$(nproc)"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -L unit -j 2 || status=1
  took "ASan+UBSan build and unit tests"

  if [ -x scripts/test-neon.sh ]; then
    echo "== NEON kernels under qemu-aarch64 =="
    t1=$SECONDS; scripts/test-neon.sh || status=1; took "NEON under qemu"
  fi
  if [ -x scripts/fuzz.sh ]; then
    echo "== GGUF parser fuzzing (60 s) =="
    t1=$SECONDS; scripts/fuzz.sh 60 || status=1; took "fuzzing"
  fi
fi
exit $status
