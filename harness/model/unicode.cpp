#include "model/unicode.h"

#include <algorithm>
#include <array>

namespace qb::model::unicode {

uint8_t flags(uint32_t cpt) {
  if (cpt < 0x80) {
    // ASCII: the common case, answered without the search.
    static const auto ascii = [] {
      std::array<uint8_t, 128> a{};
      for (uint32_t c = 0; c < 128; ++c) {
        const Range* r =
            std::upper_bound(kRanges, kRanges + kRangeCount, c, [](uint32_t v, const Range& x) { return v < x.first; });
        a[c] = r[-1].flags;
      }
      return a;
    }();
    return ascii[cpt];
  }
  if (cpt > 0x10FFFF) return 0;
  const Range* r =
      std::upper_bound(kRanges, kRanges + kRangeCount, cpt, [](uint32_t v, const Range& x) { return v < x.first; });
  return r[-1].flags;
}

std::vector<uint32_t> decode_utf8(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  const size_t n = s.size();
  auto cont = [&](size_t i) { return i < n && (uint8_t(s[i]) & 0xC0) == 0x80; };
  for (size_t i = 0; i < n;) {
    const uint8_t b = uint8_t(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      i += 1;
    } else if (b >= 0xC0 && b < 0xE0 && cont(i + 1)) {
      out.push_back(uint32_t(b & 0x1F) << 6 | (uint8_t(s[i + 1]) & 0x3F));
      i += 2;
    } else if (b >= 0xE0 && b < 0xF0 && cont(i + 1) && cont(i + 2)) {
      out.push_back(uint32_t(b & 0x0F) << 12 | uint32_t(uint8_t(s[i + 1]) & 0x3F) << 6 | (uint8_t(s[i + 2]) & 0x3F));
      i += 3;
    } else if (b >= 0xF0 && b < 0xF8 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      out.push_back(uint32_t(b & 0x07) << 18 | uint32_t(uint8_t(s[i + 1]) & 0x3F) << 12 |
                    uint32_t(uint8_t(s[i + 2]) & 0x3F) << 6 | (uint8_t(s[i + 3]) & 0x3F));
      i += 4;
    } else {
      out.push_back(0xFFFD);
      i += 1;
    }
  }
  return out;
}

void append_utf8(uint32_t c, std::string& out) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else if (c <= 0x10FFFF) {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    append_utf8(0xFFFD, out);
  }
}

}  // namespace qb::model::unicode
