// Model runtime: SPM tokenizer (synthetic vocabulary, and the real Gemma 3 vocabulary against
// llama.cpp's ids in tests/data/model/gemma3_tokenizer_golden.json), architecture refusal.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "model/model.h"
#include "model/tokenizer_spm.h"
#include "qb/command.h"
#include "test_models.h"

namespace fs = std::filesystem;
using qb::gguf::Value;
using qb::gguf::ValueType;

namespace {

// A small SPM vocabulary: control tokens, 256 byte tokens, user-defined "\n" and "  ", and pieces.
std::string write_vocab(const fs::path& dir, const std::string& arch = "gemma3") {
  qb::gguf::Writer w;
  w.set("general.architecture", Value::str(arch));
  std::vector<std::string> toks = {"<pad>", "<eos>", "<bos>", "<unk>", "\n", "  "};
  std::vector<int32_t> types = {3, 3, 3, 2, 4, 4};
  std::vector<float> scores = {0, 0, 0, 0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    toks.push_back(buf);
    types.push_back(6);
    scores.push_back(0);
  }
  const std::vector<std::pair<std::string, float>> pieces = {{"\xe2\x96\x81", -1},
                                                             {"h", -2},
                                                             {"e", -2},
                                                             {"l", -2},
                                                             {"o", -2},
                                                             {"w", -2},
                                                             {"r", -2},
                                                             {"d", -2},
                                                             {"he", -3},
                                                             {"ll", -3.5f},
                                                             {"llo", -4},
                                                             {"hello", -5},
                                                             {"\xe2\x96\x81w", -4},
                                                             {"or", -3},
                                                             {"\xe2\x96\x81wor", -6},
                                                             {"ld", -4},
                                                             {"\xe2\x96\x81world", -5}};
  for (const auto& [t, s] : pieces) {
    toks.push_back(t);
    types.push_back(1);
    scores.push_back(s);
  }
  std::vector<Value> tv, yv, sv;
  for (auto& t : toks) tv.push_back(Value::str(t));
  for (auto t : types) yv.push_back(Value::i32(t));
  for (auto s : scores) sv.push_back(Value::f32(s));
  w.set("tokenizer.ggml.model", Value::str("llama"));
  w.set("tokenizer.ggml.tokens", Value::array(ValueType::STRING, tv));
  w.set("tokenizer.ggml.token_type", Value::array(ValueType::I32, yv));
  w.set("tokenizer.ggml.scores", Value::array(ValueType::F32, sv));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(2));
  w.set("tokenizer.ggml.eos_token_id", Value::u32(1));
  w.set("tokenizer.ggml.add_bos_token", Value::boolean(true));
  w.set("tokenizer.ggml.add_space_prefix", Value::boolean(false));
  std::vector<float> dummy(32, 0.0f);
  w.add_tensor("dummy", 0, {32}, dummy.data());
  const std::string path = (dir / ("vocab-" + arch + ".gguf")).string();
  w.write(path);
  return path;
}

fs::path tmpdir() {
  fs::path d = fs::temp_directory_path() / ("qb_model_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(ModelTokenizer, SyntheticVocabMergesBytesAndUserDefined) {
  const auto d = tmpdir();
  auto f = qb::gguf::File::open(write_vocab(d));
  auto tok = qb::model::SpmTokenizer::from_gguf(*f);
  const int32_t base = 6 + 256;
  auto id = [&](int piece) { return base + piece; };
  // "hello world": no space prefix; pairs merge by score; the space becomes U+2581.
  EXPECT_EQ(tok->tokenize("hello world"), (std::vector<int32_t>{2, id(11), id(16)}));
  // Unknown characters fall back to bytes; "\n" and "  " are user-defined tokens cut out first.
  EXPECT_EQ(tok->tokenize("h\xc3\xa9\nd  o", false),
            (std::vector<int32_t>{id(1), 6 + 0xC3, 6 + 0xA9, 4, id(7), 5, id(4)}));
  EXPECT_EQ(tok->tokenize(""), (std::vector<int32_t>{2}));
  EXPECT_EQ(tok->tokenize("", false), (std::vector<int32_t>{}));
  // Control tokens stay text (parse_special = false): "<bos>" is bytes/pieces, not id 2.
  const auto t = tok->tokenize("<bos>", false);
  EXPECT_EQ(std::count(t.begin(), t.end(), 2), 0);
  EXPECT_EQ(tok->piece(id(16)), " world");
  EXPECT_EQ(tok->piece(6 + 'A'), "A");
  fs::remove_all(d);
}

TEST(ModelTokenizer, RefusesNonSpmTokenizer) {
  const auto d = tmpdir();
  qb::gguf::Writer w;
  w.set("general.architecture", Value::str("gemma3"));
  w.set("tokenizer.ggml.model", Value::str("gpt2"));
  std::vector<float> dummy(32, 0.0f);
  w.add_tensor("dummy", 0, {32}, dummy.data());
  w.write((d / "bpe.gguf").string());
  auto f = qb::gguf::File::open((d / "bpe.gguf").string());
  EXPECT_THROW(qb::model::SpmTokenizer::from_gguf(*f), qb::UsageError);
  fs::remove_all(d);
}

TEST(ModelRuntime, UnknownArchitectureNamedWithKnownOnes) {
  const auto d = tmpdir();
  const std::string p = write_vocab(d, "mamba9");
  try {
    qb::model::Model::load(p, {});
    FAIL() << "expected a UsageError";
  } catch (const qb::UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'mamba9'"), std::string::npos) << what;
    EXPECT_NE(what.find("known architectures: gemma3"), std::string::npos) << what;
  }
  // The CLI: one line, exit 2.
  if (const char* q = std::getenv("QBENCH")) {
    const std::string cmd = std::string(q) + " perplexity --model " + p + " > /dev/null 2> " + (d / "err.txt").string();
    const int rc = std::system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 2) << rc;
    std::ifstream in(d / "err.txt");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(all.find("unsupported model architecture 'mamba9'"), std::string::npos) << all;
    EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 1) << all;
  }
  // A gemma3 file without tensors: the missing tensor is named.
  const std::string g = write_vocab(d, "gemma3");
  EXPECT_THROW(qb::model::Model::load(g, {}), qb::UsageError);
  fs::remove_all(d);
}

TEST(ModelTokenizer, Gemma3IdsMatchLlamaCpp) {
  const std::string model = qb::test::gemma_path();
  if (model.empty()) GTEST_SKIP() << qb::test::kGemmaMissing;
  std::ifstream in(fs::path(QB_SOURCE_DIR) / "tests/data/model/gemma3_tokenizer_golden.json");
  ASSERT_TRUE(in.good());
  const auto golden = nlohmann::json::parse(in);
  auto f = qb::gguf::File::open(model);
  auto tok = qb::model::SpmTokenizer::from_gguf(*f);
  int n = 0;
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"];
    const auto want = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->tokenize(text, true), want) << "text: " << text;
    ++n;
  }
  EXPECT_GE(n, 10);
}
