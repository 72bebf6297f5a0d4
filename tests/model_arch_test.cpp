// Model runtime, llama family: what the loader refuses with a clear message (unsupported rope
// scaling, partial rotary embedding, unknown architecture naming the known ones). The forward
// pass itself is checked against llama.cpp in tests/py/test_model_archs_llamacpp.py.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "gguf/gguf.h"
#include "model/model.h"
#include "qb/command.h"

namespace fs = std::filesystem;
using qb::gguf::Value;

namespace {

std::string write_header(const fs::path& dir, const std::string& arch, const std::string& extra_key,
                         const Value& extra) {
  qb::gguf::Writer w;
  w.set("general.architecture", Value::str(arch));
  const std::string a = arch + ".";
  w.set(a + "embedding_length", Value::u32(64));
  w.set(a + "block_count", Value::u32(2));
  w.set(a + "feed_forward_length", Value::u32(128));
  w.set(a + "attention.head_count", Value::u32(4));
  w.set(a + "attention.head_count_kv", Value::u32(2));
  if (!extra_key.empty()) w.set(a + extra_key, extra);
  std::vector<float> dummy(32, 0.0f);
  w.add_tensor("dummy", 0, {32}, dummy.data());
  const std::string path = (dir / (arch + extra_key + ".gguf")).string();
  w.write(path);
  return path;
}

std::string load_error(const std::string& path) {
  try {
    qb::model::Model::load(path, {});
  } catch (const qb::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelArch, KnownArchitecturesListed) {
  std::string all;
  for (auto a : qb::model::known_architectures()) all += std::string(a) + " ";
  EXPECT_EQ(all, "gemma3 llama qwen2 qwen3 ");
}

TEST(ModelArch, RefusesWhatItCannotRun) {
  const fs::path d = fs::temp_directory_path() / ("qb_arch_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  const std::string yarn = load_error(write_header(d, "qwen2", "rope.scaling.type", Value::str("yarn")));
  EXPECT_NE(yarn.find("rope scaling 'yarn' is not supported"), std::string::npos) << yarn;
  const std::string partial = load_error(write_header(d, "llama", "rope.dimension_count", Value::u32(8)));
  EXPECT_NE(partial.find("partial rotary embedding"), std::string::npos) << partial;
  const std::string unknown = load_error(write_header(d, "phi3", "", Value::u32(0)));
  EXPECT_NE(unknown.find("known architectures: gemma3, llama, qwen2, qwen3"), std::string::npos) << unknown;
  // Past the config, a llama file without a tokenizer or tensors is refused by name.
  const std::string bare = load_error(write_header(d, "llama", "", Value::u32(0)));
  EXPECT_FALSE(bare.empty());
  fs::remove_all(d);
}
