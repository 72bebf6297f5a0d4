// libFuzzer target for the GGUF parser (built and run by scripts/fuzz.sh).
// Any input must either parse, with every tensor's data inside the buffer, or be rejected with
// qb::UsageError; a crash, sanitizer report, leak or other exception is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gguf/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = qb::gguf::File::parse(data, size, "fuzz-input");
    for (const auto& kv : f->metadata()) (void)kv.second.to_string(8);
    (void)f->architecture();
    (void)f->get_int("general.alignment");
    unsigned acc = 0;
    for (const auto& t : f->tensors()) {
      if (t.file_offset + t.nbytes > size || t.file_offset < f->data_offset()) std::abort();
      if (t.nbytes) acc += t.data[0] + t.data[t.nbytes - 1];
      (void)t.shape_string();
      (void)t.bits_per_weight();
    }
    volatile unsigned sink = acc;
    (void)sink;
  } catch (const qb::UsageError&) {}
  return 0;
}
