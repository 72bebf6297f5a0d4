// The MatmulKernel rows the legacy and int families repeat on every ISA, written once: each ISA
// file names its backend, its tiles' name suffixes ("<tile>_<isa>") and its gemm/quantizer
// templates. Row order, formats, activation types and names are those of the hand-written tables.
// Include after the file's own templates (legacy_<isa>.h, int_common.h).
#pragma once

// Q4_0 .. Q8_1 x Q8_0/Q8_1: "gemm_<w>_<a>_" TILE_ISA; GEMM<geometry, activation is Q8_1>.
// clang-format off
#define QB_LEGACY_ROWS(B, TILE_ISA, GEMM, QUANT)                                                                     \
  {FormatId::Q4_0, BackendId::B, FormatId::Q8_0, "gemm_q4_0_q8_0_" TILE_ISA, q8_0_row_bytes, QUANT<false>, GEMM<kQ4_0, false>}, \
  {FormatId::Q4_1, BackendId::B, FormatId::Q8_1, "gemm_q4_1_q8_1_" TILE_ISA, q8_1_row_bytes, QUANT<true>, GEMM<kQ4_1, true>},   \
  {FormatId::Q5_0, BackendId::B, FormatId::Q8_0, "gemm_q5_0_q8_0_" TILE_ISA, q8_0_row_bytes, QUANT<false>, GEMM<kQ5_0, false>}, \
  {FormatId::Q5_1, BackendId::B, FormatId::Q8_1, "gemm_q5_1_q8_1_" TILE_ISA, q8_1_row_bytes, QUANT<true>, GEMM<kQ5_1, true>},   \
  {FormatId::Q8_0, BackendId::B, FormatId::Q8_0, "gemm_q8_0_q8_0_" TILE_ISA, q8_0_row_bytes, QUANT<false>, GEMM<kQ8_0, false>}, \
  {FormatId::Q8_1, BackendId::B, FormatId::Q8_1, "gemm_q8_1_q8_1_" TILE_ISA, q8_1_row_bytes, QUANT<true>, GEMM<kQ8_1, true>},

// INT8_PC/PT x Q8_0 (GEMM_INT8<per-tensor>), INT4_G32/64/128 x Q8_1 (GEMM_INT4<geometry, true>), NF4 x F32.
#define QB_INT_ROWS(B, INT8_TILE_ISA, INT4_TILE_ISA, NF4_TILE_ISA, GEMM_INT8, GEMM_INT4, GEMM_NF4, QUANT)                                    \
  {FormatId::INT8_PC, BackendId::B, FormatId::Q8_0, "gemm_int8pc_q8_0_" INT8_TILE_ISA, q8_0_row_bytes, QUANT<false>, GEMM_INT8<false>},        \
  {FormatId::INT8_PT, BackendId::B, FormatId::Q8_0, "gemm_int8pt_q8_0_" INT8_TILE_ISA, q8_0_row_bytes, QUANT<false>, GEMM_INT8<true>},         \
  {FormatId::INT4_G32, BackendId::B, FormatId::Q8_1, "gemm_int4g32_q8_1_" INT4_TILE_ISA, q8_1_row_bytes, QUANT<true>, GEMM_INT4<kInt4G32, true>},   \
  {FormatId::INT4_G64, BackendId::B, FormatId::Q8_1, "gemm_int4g64_q8_1_" INT4_TILE_ISA, q8_1_row_bytes, QUANT<true>, GEMM_INT4<kInt4G64, true>},   \
  {FormatId::INT4_G128, BackendId::B, FormatId::Q8_1, "gemm_int4g128_q8_1_" INT4_TILE_ISA, q8_1_row_bytes, QUANT<true>, GEMM_INT4<kInt4G128, true>}, \
  {FormatId::NF4, BackendId::B, FormatId::F32, "gemm_nf4_f32_" NF4_TILE_ISA, f32_row_bytes, copy_f32, GEMM_NF4},
// clang-format on
