#!/usr/bin/env bash
# Fuzz the GGUF parser with libFuzzer + ASan + UBSan for a bounded time.
#   scripts/fuzz.sh [SECONDS=60]
# Builds build-fuzz/gguf_fuzz with clang from the reader sources and the kernels' format table
# (self-contained: no CMake build needed), seeds the corpus with tests/data/gguf/seeds/ plus files
# written by qbench's own writer (tests/fuzz/make_seeds.cpp), runs, and copies any crashing input
# to tests/data/gguf/regress/ (replayed by tests/gguf_reader_test.cpp). Exit 0: no crash found.
set -euo pipefail
secs="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/build-fuzz"
cxx="${CLANGXX:-}"
if [[ -z "$cxx" ]]; then
  for c in clang++-14 clang++; do command -v "$c" >/dev/null && { cxx="$c"; break; }; done
fi
[[ -n "$cxx" ]] || { echo "fuzz.sh: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
mkdir -p "$out/obj" "$out/corpus" "$out/artifacts"

inc=(-I"$root/harness" -I"$root/harness/include" -I"$root/kernels/include" -I"$root/kernels/formats")
common=(-std=c++20 -g -O1 -fno-omit-frame-pointer "${inc[@]}")
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
srcs=("$root/harness/gguf/gguf.cpp" "$root"/kernels/formats/*.cpp)

echo "fuzz.sh: building with $cxx"
objs=()
for s in "${srcs[@]}"; do
  o="$out/obj/$(basename "${s%.cpp}").o"
  if [[ ! -f "$o" || "$s" -nt "$o" || "$root/harness/gguf/gguf.h" -nt "$o" ]]; then
    "$cxx" "${common[@]}" "${san[@]}" -fsanitize=fuzzer-no-link -c "$s" -o "$o"
  fi
  objs+=("$o")
done
"$cxx" "${common[@]}" "${san[@]}" -fsanitize=fuzzer "$root/tests/fuzz/gguf_fuzz.cpp" "${objs[@]}" -o "$out/gguf_fuzz"
"$cxx" "${common[@]}" "${san[@]}" "$root/tests/fuzz/make_seeds.cpp" "${objs[@]}" -o "$out/make_seeds"

# Seeds: checked-in files + freshly written ones.
"$out/make_seeds" "$out/corpus"
cp -f "$root"/tests/data/gguf/seeds/*.gguf "$out/corpus/" 2>/dev/null || true

rm -f "$out"/artifacts/*
echo "fuzz.sh: fuzzing for ${secs}s"
set +e
"$out/gguf_fuzz" -max_total_time="$secs" -max_len=16384 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$out/artifacts/" "$out/corpus" 2>&1 | tail -n 25
rc=${PIPESTATUS[0]}
set -e
found=0
for a in "$out"/artifacts/*; do
  [[ -f "$a" ]] || continue
  found=1
  dest="$root/tests/data/gguf/regress/$(basename "$a")"
  cp -f "$a" "$dest"
  echo "fuzz.sh: crashing input kept as ${dest#$root/}"
done
if [[ $rc -ne 0 || $found -ne 0 ]]; then
  echo "fuzz.sh: FAILED (libFuzzer exit $rc)" >&2
  exit 1
fi
echo "fuzz.sh: no crash in ${secs}s"
