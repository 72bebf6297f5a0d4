# Sourced by setup.sh and test.sh: builds go through ccache when it is installed (setup.sh installs
# it), so a rebuild of unchanged sources is a cache hit. CMake (>= 3.17) reads these variables when
# a build directory is first configured; values already set by the caller are kept. CI's fresh
# root keeps the cache between runs (scripts/ci-fresh-root.sh), as it keeps pip's wheels.
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
fi
