# Per-file ISA flags: no global -march. A source file opts into an ISA by its name's suffix,
# and runtime dispatch (kernels/backends/dispatch.cpp) calls it only where the CPU has that ISA.
set(QB_ARCH_X86 OFF)
set(QB_ARCH_ARM64 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  set(QB_ARCH_X86 ON)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(QB_ARCH_ARM64 ON)
endif()

set(QB_FLAGS_AVX2   -mavx2 -mfma -mf16c -mbmi2)
# Each set is exactly what dispatch.cpp gates that file's kernels on (kernel_sources() there);
# tests/kernels/dispatch_isa_test.cpp checks the two agree, from the compiler's own macros.
# (GCC 12's avx512fintrin.h false -Wuninitialized is silenced around that one header: qb/x86_intrin.h.)
set(QB_FLAGS_AVX512 -mavx2 -mfma -mf16c -mbmi2 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni)
# BF16 kernels live in *_avx512bf16.cpp so that VNNI-only CPUs (Cascade Lake, Ice Lake) keep the rest.
set(QB_FLAGS_AVX512BF16 ${QB_FLAGS_AVX512} -mavx512bf16)
# AMX kernels (own rows, own names) live in *_amxint8.cpp / *_amxbf16.cpp: gated on the tile unit
# and Linux's permission as well, so the VNNI/BF16 files keep running where AMX is absent or off.
set(QB_FLAGS_AMXINT8 ${QB_FLAGS_AVX512} -mamx-tile -mamx-int8)
set(QB_FLAGS_AMXBF16 ${QB_FLAGS_AVX512BF16} -mamx-tile -mamx-bf16)
# dotprod only: dispatch gates NEON on asimd+dotprod, so no i8mm/bf16/fp16 code may be generated.
set(QB_FLAGS_NEON   -march=armv8.2-a+dotprod)
# int8 matrix multiply (smmla) rows live in *_neoni8mm.cpp, gated on dotprod + i8mm.
set(QB_FLAGS_NEONI8MM -march=armv8.2-a+dotprod+i8mm)
# bfdot/bfmmla rows in *_neonbf16.cpp, gated on dotprod + bf16.
set(QB_FLAGS_NEONBF16 -march=armv8.2-a+dotprod+bf16)

# The architecture of each suffix; the flags are QB_FLAGS_<SUFFIX> above.
set(QB_ISA_X86_SUFFIXES avx2 avx512 avx512bf16 amxint8 amxbf16)
set(QB_ISA_ARM64_SUFFIXES neon neoni8mm neonbf16)

# qb_isa_sources(<target> <files...>): adds files, applying the flags their name's suffix names
# (legacy_avx2.cpp: QB_FLAGS_AVX2); files of the other architecture are skipped, files without an
# ISA suffix (dispatch.cpp, *_scalar.cpp) get no extra flags.
function(qb_isa_sources target)
  foreach(f ${ARGN})
    get_filename_component(stem ${f} NAME_WE)
    string(REGEX MATCH "[a-z0-9]+$" isa ${stem})
    if(isa IN_LIST QB_ISA_X86_SUFFIXES OR isa IN_LIST QB_ISA_ARM64_SUFFIXES)
      if((isa IN_LIST QB_ISA_X86_SUFFIXES AND NOT QB_ARCH_X86) OR
         (isa IN_LIST QB_ISA_ARM64_SUFFIXES AND NOT QB_ARCH_ARM64))
        continue()
      endif()
      string(TOUPPER ${isa} ISA)
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${QB_FLAGS_${ISA}}")
    endif()
    target_sources(${target} PRIVATE ${f})
  endforeach()
endfunction()
