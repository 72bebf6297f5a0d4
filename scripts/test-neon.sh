#!/usr/bin/env bash
# Cross-builds the kernel library and its tests for aarch64 (NEON, dotprod, i8mm) and runs
# them under qemu-aarch64 (-cpu max). Installs what it needs when missing:
# g++-aarch64-linux-gnu, qemu-user, googletest (sources, built inside the cross build).
#   scripts/test-neon.sh [build-dir]     (default: build-neon)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-neon}

need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
[ -f /usr/src/googletest/CMakeLists.txt ] || need+=(googletest)
if [ ${#need[@]} -gt 0 ]; then
  echo "test-neon: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

cmake --preset aarch64-cross -B "$BUILD" >/dev/null
targets=()
for f in tests/kernels/*_test.cpp; do targets+=("$(basename "$f" .cpp)"); done
cmake --build "$BUILD" -j "${QB_JOBS:-2}" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  echo "== $t (qemu-aarch64 -cpu max) =="
  qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu "$BUILD/tests/$t" --gtest_brief=1 || status=1
done
exit $status
