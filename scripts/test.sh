#!/usr/bin/env bash
# The test command (CI runs exactly this): set-up, build (warnings are errors), the format check, all tests with CTest,
# then the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer, the thread pool
# tests under ThreadSanitizer, the NEON kernel tests under qemu-aarch64, and a bounded fuzzing run
# of the GGUF parser. Each build is a preset of CMakePresets.json.
#   scripts/test.sh            # everything
#   QB_TEST_FAST=1 scripts/test.sh   # only the main build's CTest run
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
took() { echo "== test.sh: $1 took $((SECONDS - t1)) s (total $((SECONDS - t0)) s)"; }
export QB_WERROR=${QB_WERROR:-ON}  # setup.sh's Release build: a new warning fails the test command
t1=$SECONDS; scripts/setup.sh; took "set-up and Release build"
. scripts/compiler-cache.sh  # the sanitizer and cross builds below too
status=0

echo "== source format (.clang-format) =="
scripts/format.sh --check || status=1

echo "== ctest (Release build) =="
t1=$SECONDS; ctest --test-dir build --output-on-failure -j 2 || status=1; took "ctest (Release)"

if [ "${QB_TEST_FAST:-0}" != 1 ]; then
  echo "== unit tests under ASan+UBSan =="
  t1=$SECONDS
  # -Og: g++ compiles the sanitized kernels 2.4x faster than at -O2 (9 s vs 21 s for one AVX-512
  # K-quant file), which keeps CI in its budget; the checks are the same.
  cmake --preset asan-ubsan -DPython3_EXECUTABLE="$(command -v python3)" >/dev/null
  cmake --build --preset asan-ubsan -j "$(nproc)"
  ctest --preset asan-ubsan || status=1  # label unit; ASAN_OPTIONS=detect_leaks=1 from the preset
  took "ASan+UBSan build and unit tests"

  echo "== thread pool tests under ThreadSanitizer =="
  # Only qb_kernels, qb_threads and thread_pool_test are built (the preset's target): the pool on
  # its own and driving every kernel as the runner does.
  t1=$SECONDS
  cmake --preset tsan -DPython3_EXECUTABLE="$(command -v python3)" -DQB_WERROR=ON >/dev/null
  cmake --build --preset tsan -j "$(nproc)"
  ctest --preset tsan || status=1
  took "TSan build and thread pool tests"

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
