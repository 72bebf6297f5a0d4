// Reference codec functions, one file per family (float.cpp, legacy.cpp, kquants.cpp,
// iquants.cpp, ternary.cpp, mxfp4.cpp, int_formats.cpp). Referenced by format_table.cpp.
#pragma once
#include <cstdint>

namespace qb::codec {
// (declarations added as codecs land)
}  // namespace qb::codec
