// Writes the fuzzing seed corpus with qbench's own GGUF writer: small valid files covering every
// metadata value type, nested arrays, v2 and v3, custom alignment, float/legacy/k-quant/unknown-
// to-qbench tensor types. Usage: make_seeds OUTDIR
#include <cstdio>
#include <string>
#include <vector>

#include "gguf/gguf.h"

using namespace qb::gguf;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<uint8_t> bytes(4096);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 37 + 11);

  {  // every value type, one F32 tensor
    Writer w(3);
    w.set("general.architecture", Value::str("llama"));
    w.set("u8", Value::u8(1));
    w.set("i8", Value::i8(-1));
    w.set("u16", Value::u16(2));
    w.set("i16", Value::i16(-2));
    w.set("u32", Value::u32(3));
    w.set("i32", Value::i32(-3));
    w.set("u64", Value::u64(4));
    w.set("i64", Value::i64(-4));
    w.set("f32", Value::f32(0.5f));
    w.set("f64", Value::f64(0.25));
    w.set("b", Value::boolean(true));
    w.set("s", Value::str("text"));
    w.set("arr", Value::array(ValueType::STRING, {Value::str("a"), Value::str("bc")}));
    w.set("nested", Value::array(ValueType::ARRAY, {Value::array(ValueType::U16, {Value::u16(7)})}));
    w.add_tensor("w", 0, {8, 2}, bytes.data());
    w.write(dir + "/all_types_v3.gguf");
  }
  {  // v2, alignment 64, several tensor types
    Writer w(2);
    w.set("general.alignment", Value::u32(64));
    w.set("llama.block_count", Value::u32(1));
    w.add_tensor("f16", 1, {4}, bytes.data());
    w.add_tensor("q8", 8, {32, 2}, bytes.data());
    w.add_tensor("q4k", 12, {256}, bytes.data());
    w.add_tensor("iq2", 16, {256}, bytes.data());
    w.write(dir + "/types_v2_align64.gguf");
  }
  {  // metadata only
    Writer w(3);
    w.set("general.name", Value::str("empty"));
    w.write(dir + "/metadata_only.gguf");
  }
  {  // a tiny llama-shaped model
    Writer w(3);
    w.set("general.architecture", Value::str("llama"));
    w.set("llama.block_count", Value::u32(1));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::STRING, {Value::str("<s>"), Value::str("</s>")}));
    w.set("tokenizer.ggml.scores", Value::array(ValueType::F32, {Value::f32(0), Value::f32(-1)}));
    w.add_tensor("token_embd.weight", 2, {32, 2}, bytes.data());
    w.add_tensor("blk.0.attn_norm.weight", 0, {32}, bytes.data());
    w.add_tensor("blk.0.ffn_down.weight", 14, {256, 1}, bytes.data());
    w.write(dir + "/tiny_llama.gguf");
  }
  return 0;
}
