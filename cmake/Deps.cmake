# Every dependency comes from a Debian package; a missing one stops configuration with the
# package to install (scripts/setup.sh installs them all).
find_package(PkgConfig QUIET)

macro(qb_require found what pkg)
  if(NOT ${found})
    message(FATAL_ERROR "qbench needs ${what}: install the Debian package '${pkg}' (apt-get install ${pkg}), or run scripts/setup.sh")
  endif()
endmacro()

find_package(Threads REQUIRED)

if(NOT QB_KERNELS_ONLY)
  find_package(nlohmann_json 3 QUIET)
  qb_require(nlohmann_json_FOUND "nlohmann-json" nlohmann-json3-dev)
  find_package(fmt QUIET)
  qb_require(fmt_FOUND "fmt" libfmt-dev)
  find_package(CLI11 QUIET CONFIG)
  if(NOT CLI11_FOUND)
    find_path(CLI11_INCLUDE CLI/CLI.hpp)
    if(CLI11_INCLUDE)
      set(CLI11_FOUND ON)
      add_library(CLI11::CLI11 INTERFACE IMPORTED)
      target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE})
    endif()
  endif()
  qb_require(CLI11_FOUND "CLI11" libcli11-dev)
  find_package(benchmark QUIET)
  qb_require(benchmark_FOUND "Google Benchmark" libbenchmark-dev)
  # The embedded results database (--results sqlite:PATH).
  find_package(SQLite3 QUIET)
  qb_require(SQLite3_FOUND "SQLite 3" libsqlite3-dev)
  # PostgreSQL for a fleet (--results postgresql://...): optional; without it the URL is refused
  # with the package to install.
  if(PkgConfig_FOUND)
    pkg_check_modules(LIBPQ QUIET IMPORTED_TARGET libpq)
  endif()
  if(LIBPQ_FOUND)
    message(STATUS "results database: PostgreSQL via libpq ${LIBPQ_VERSION}")
  else()
    message(STATUS "results database: no libpq (apt-get install libpq-dev): --results postgresql:// unavailable")
  endif()

  find_path(HWLOC_INCLUDE hwloc.h)
  find_library(HWLOC_LIB hwloc)
  if(HWLOC_INCLUDE AND HWLOC_LIB)
    set(HWLOC_OK ON)
  endif()
  qb_require(HWLOC_OK "hwloc" libhwloc-dev)
  add_library(qb::hwloc INTERFACE IMPORTED)
  target_include_directories(qb::hwloc INTERFACE ${HWLOC_INCLUDE})
  target_link_libraries(qb::hwloc INTERFACE ${HWLOC_LIB})

  find_path(PAPI_INCLUDE papi.h)
  find_library(PAPI_LIB papi)
  if(PAPI_INCLUDE AND PAPI_LIB)
    set(PAPI_OK ON)
  endif()
  qb_require(PAPI_OK "PAPI" libpapi-dev)
  add_library(qb::papi INTERFACE IMPORTED)
  target_include_directories(qb::papi INTERFACE ${PAPI_INCLUDE})
  target_link_libraries(qb::papi INTERFACE ${PAPI_LIB})
endif()

if(QB_BUILD_TESTS)
  if(CMAKE_CROSSCOMPILING AND EXISTS /usr/src/googletest/CMakeLists.txt)
    # libgtest-dev holds host libraries only: build GoogleTest for the target from Debian's
    # source package (googletest, /usr/src/googletest).
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/_googletest EXCLUDE_FROM_ALL)
    if(NOT TARGET GTest::gtest)
      add_library(GTest::gtest ALIAS gtest)
      add_library(GTest::gtest_main ALIAS gtest_main)
    endif()
    set(GTest_FOUND ON)
  elseif(CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "cross build of the tests needs GoogleTest sources: apt-get install googletest")
  else()
    find_package(GTest QUIET)
  endif()
  qb_require(GTest_FOUND "GoogleTest" libgtest-dev)
endif()

# qb_probe_config_package(PKG OUT_VAR): runs find_package(PKG CONFIG REQUIRED) in a throw-away child
# CMake project; OUT_VAR is empty when it works, else the first error line (why the peer is missing).
function(qb_probe_config_package pkg out_var)
  set(dir ${CMAKE_BINARY_DIR}/_probe_${pkg})
  file(MAKE_DIRECTORY ${dir}/src)
  file(WRITE ${dir}/src/CMakeLists.txt
       "cmake_minimum_required(VERSION 3.25)\nproject(probe LANGUAGES C CXX)\nfind_package(${pkg} CONFIG REQUIRED)\n")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${dir}/src -B ${dir}/build
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  set(reason "")
  if(NOT rc EQUAL 0)
    string(REGEX MATCH "(Could NOT find [^\n]*|Could not find a package configuration file provided by \"${pkg}\")" reason "${err}")
    if(NOT reason)
      string(REGEX REPLACE "\n.*" "" reason "${err}")
    endif()
    string(REPLACE "\"" "'" reason "${reason}")
    string(REPLACE ";" "," reason "${reason}")
    string(STRIP "${reason}" reason)
    if(NOT reason)
      set(reason "find_package(${pkg}) failed")
    endif()
  endif()
  set(${out_var} "${reason}" PARENT_SCOPE)
endfunction()

# Peer libraries are optional: a backend whose library is absent is listed as unavailable.
find_package(BLAS QUIET)
find_path(OPENBLAS_INCLUDE cblas.h PATH_SUFFIXES openblas openblas-pthread)
find_library(OPENBLAS_LIB openblas)
# oneDNN's CMake config can itself fail (Debian's needs OpenCL, which libdnnl-dev only recommends):
# probe it in a child CMake first so a broken optional peer never stops configuration.
qb_probe_config_package(dnnl QB_ONEDNN_PROBE_ERROR)
if(NOT QB_ONEDNN_PROBE_ERROR)
  find_package(dnnl QUIET CONFIG)
endif()
find_path(XNNPACK_INCLUDE xnnpack.h)
find_library(XNNPACK_LIB XNNPACK)

# llama.cpp, the model suites' side-by-side framework (backend `llama.cpp`): the headers and
# libllama that the llama-cpp-python wheel installs (site-packages/include and llama_cpp/lib).
# Optional: without it the backend is unavailable with the reason, never a configure error.
if(NOT QB_KERNELS_ONLY AND NOT CMAKE_CROSSCOMPILING)
  set(QB_LLAMACPP_REASON "llama-cpp-python is not installed for the Python that configured this build (pip install llama-cpp-python)")
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(Python3_Interpreter_FOUND)
    execute_process(
      COMMAND ${Python3_EXECUTABLE} -c
        "import importlib.util, os; s = importlib.util.find_spec('llama_cpp'); print(os.path.dirname(s.origin) if s else '')"
      OUTPUT_VARIABLE QB_LLAMACPP_PKG OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(QB_LLAMACPP_PKG)
      find_path(QB_LLAMACPP_INCLUDE llama.h PATHS ${QB_LLAMACPP_PKG}/../include NO_DEFAULT_PATH)
      find_library(QB_LLAMACPP_LIB llama PATHS ${QB_LLAMACPP_PKG}/lib NO_DEFAULT_PATH)
      if(QB_LLAMACPP_INCLUDE AND QB_LLAMACPP_LIB)
        set(QB_LLAMACPP_REASON "")
        add_library(qb::llamacpp INTERFACE IMPORTED)
        target_include_directories(qb::llamacpp SYSTEM INTERFACE ${QB_LLAMACPP_INCLUDE})
        target_link_libraries(qb::llamacpp INTERFACE ${QB_LLAMACPP_LIB})
        message(STATUS "llama.cpp (side-by-side backend): ${QB_LLAMACPP_LIB}")
      else()
        set(QB_LLAMACPP_REASON "llama-cpp-python at ${QB_LLAMACPP_PKG} has no llama.h / libllama (a wheel without headers)")
      endif()
    endif()
  endif()
  if(QB_LLAMACPP_REASON)
    message(STATUS "llama.cpp backend unavailable: ${QB_LLAMACPP_REASON}")
  endif()

  # ggml, the kernel-level framework adapter (backend `ggml`, kernels/peers/ggml.cpp): libggml,
  # libggml-base and libggml-cpu from the same wheel, and its package version for `list backends`.
  set(QB_GGML_REASON "${QB_LLAMACPP_REASON}")
  if(QB_LLAMACPP_PKG)
    find_path(QB_GGML_INCLUDE ggml-cpu.h PATHS ${QB_LLAMACPP_PKG}/../include NO_DEFAULT_PATH)
    find_library(QB_GGML_LIB ggml PATHS ${QB_LLAMACPP_PKG}/lib NO_DEFAULT_PATH)
    find_library(QB_GGML_BASE_LIB ggml-base PATHS ${QB_LLAMACPP_PKG}/lib NO_DEFAULT_PATH)
    find_library(QB_GGML_CPU_LIB ggml-cpu PATHS ${QB_LLAMACPP_PKG}/lib NO_DEFAULT_PATH)
    if(QB_GGML_INCLUDE AND QB_GGML_LIB AND QB_GGML_BASE_LIB AND QB_GGML_CPU_LIB)
      set(QB_GGML_REASON "")
      execute_process(
        COMMAND ${Python3_EXECUTABLE} -c "import importlib.metadata as m; print(m.version('llama_cpp_python'))"
        OUTPUT_VARIABLE QB_GGML_PACKAGE_VERSION OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      add_library(qb::ggml INTERFACE IMPORTED)
      target_include_directories(qb::ggml SYSTEM INTERFACE ${QB_GGML_INCLUDE})
      target_link_libraries(qb::ggml INTERFACE ${QB_GGML_CPU_LIB} ${QB_GGML_LIB} ${QB_GGML_BASE_LIB})
      message(STATUS "ggml (framework adapter): ${QB_GGML_CPU_LIB}, llama-cpp-python ${QB_GGML_PACKAGE_VERSION}")
    else()
      set(QB_GGML_REASON "llama-cpp-python at ${QB_LLAMACPP_PKG} has no ggml-cpu.h / libggml, libggml-base, libggml-cpu")
    endif()
  endif()
  if(QB_GGML_REASON)
    message(STATUS "ggml adapter unavailable: ${QB_GGML_REASON}")
  endif()

  # MLX, the in-process framework adapter `mlx` (kernels/peers/mlx.cpp): the C++ headers of the
  # `mlx` wheel (mlx/include) and the libmlx of the `mlx-cpu` wheel (mlx/lib), both in the package
  # folder of the same Python; the build's rpath points at the wheel's lib folder.
  set(QB_MLX_REASON "no Python interpreter found at build time")
  if(Python3_Interpreter_FOUND)
    execute_process(
      COMMAND ${Python3_EXECUTABLE} -c
        "import importlib.util as u; s = u.find_spec('mlx'); print(list(s.submodule_search_locations)[0] if s else '')"
      OUTPUT_VARIABLE QB_MLX_PKG OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    set(QB_MLX_REASON "Python package mlx is not installed for ${Python3_EXECUTABLE} (pip install mlx mlx-cpu, as scripts/setup.sh does)")
    if(QB_MLX_PKG)
      find_path(QB_MLX_INCLUDE mlx/mlx.h PATHS ${QB_MLX_PKG}/include NO_DEFAULT_PATH)
      find_library(QB_MLX_LIB mlx PATHS ${QB_MLX_PKG}/lib ${QB_MLX_PKG} NO_DEFAULT_PATH)
      if(QB_MLX_INCLUDE AND QB_MLX_LIB)
        set(QB_MLX_REASON "")
        execute_process(
          COMMAND ${Python3_EXECUTABLE} -c
            "import importlib.metadata as m; print(', '.join(p + ' ' + m.version(p) for p in ('mlx', 'mlx-cpu')))"
          OUTPUT_VARIABLE QB_MLX_PACKAGE_VERSION OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        add_library(qb::mlx INTERFACE IMPORTED)
        target_include_directories(qb::mlx SYSTEM INTERFACE ${QB_MLX_INCLUDE})
        target_link_libraries(qb::mlx INTERFACE ${QB_MLX_LIB})
        message(STATUS "mlx (framework adapter, in process): ${QB_MLX_LIB}, ${QB_MLX_PACKAGE_VERSION}")
      elseif(NOT QB_MLX_LIB)
        set(QB_MLX_REASON "mlx at ${QB_MLX_PKG} has no libmlx (its CPU library comes from the mlx-cpu wheel: pip install mlx-cpu)")
      else()
        set(QB_MLX_REASON "mlx at ${QB_MLX_PKG} has no C++ headers (include/mlx/mlx.h)")
      endif()
    endif()
  endif()
  if(QB_MLX_REASON)
    message(STATUS "mlx adapter unavailable: ${QB_MLX_REASON}")
  endif()
endif()

# Subprocess framework adapters (kernels/peers/frameworks.cpp): each worker module names the Python
# packages it imports; `qb_worker.py --probe` says their versions, or which are missing, without
# importing them. The Python that configured the build runs the workers ($QB_PYTHON overrides).
set(QB_WORKER_DIR ${CMAKE_SOURCE_DIR}/kernels/peers/workers)
foreach(fw onnxruntime openvino)
  set(QB_FW_${fw}_VERSION "")
  set(QB_FW_${fw}_MISSING "no Python interpreter found at build time")
  if(CMAKE_CROSSCOMPILING)
    set(QB_FW_${fw}_MISSING "not probed in a cross build")
  elseif(Python3_EXECUTABLE)
    execute_process(COMMAND ${Python3_EXECUTABLE} ${QB_WORKER_DIR}/qb_worker.py --probe ${fw}
                    OUTPUT_VARIABLE probe OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_VARIABLE probe_err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      string(REGEX REPLACE "[\n\"]" " " probe_err "${probe_err}")
      set(QB_FW_${fw}_MISSING "qb_worker.py --probe failed: ${probe_err}")
    elseif(probe MATCHES "^MISSING (.*)")
      set(QB_FW_${fw}_MISSING "${CMAKE_MATCH_1}")
    else()
      set(QB_FW_${fw}_VERSION "${probe}")
      set(QB_FW_${fw}_MISSING "")
    endif()
  endif()
  if(QB_FW_${fw}_MISSING)
    message(STATUS "${fw} adapter unavailable: ${QB_FW_${fw}_MISSING}")
  else()
    message(STATUS "${fw} adapter (subprocess): ${QB_FW_${fw}_VERSION}")
  endif()
endforeach()
