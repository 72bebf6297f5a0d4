// BPE tokenizer: Unicode classes (unicode.h), llama.cpp-compatible UTF-8 decoding, pre-tokenizer
// splits worked out by hand from the regexes, merge order on a synthetic vocabulary, refusals,
// and llama.cpp's own golden tokenizations (models/ggml-vocab-*.gguf.inp/.out from the
// llama-cpp-python sdist; scripts/fetch_llama_vocab.py) when those files are present.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gguf/gguf.h"
#include "model/tokenizer.h"
#include "model/tokenizer_bpe.h"
#include "model/tokenizer_bpe_split.h"
#include "model/unicode.h"
#include "qb/command.h"

namespace fs = std::filesystem;
namespace uc = qb::model::unicode;
using qb::gguf::Value;
using qb::gguf::ValueType;
using qb::model::PreTokenizer;

namespace {

fs::path tmpdir() {
  fs::path d = fs::temp_directory_path() / ("qb_bpe_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// The words of a UTF-8 text under a pre-tokenizer.
std::vector<std::string> words(PreTokenizer k, const std::string& text) {
  const auto cpts = uc::decode_utf8(text);
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t len : qb::model::pre_tokenize(k, cpts)) {
    std::string w;
    for (size_t i = start; i < start + len; ++i) uc::append_utf8(cpts[i], w);
    out.push_back(w);
    start += len;
  }
  return out;
}

using W = std::vector<std::string>;

// A byte-level BPE vocabulary over the letters a, b, c (and space = U+0120 in GPT-2's alphabet).
std::string write_bpe_vocab(const fs::path& dir, const std::string& pre, const std::vector<std::string>& merges) {
  qb::gguf::Writer w;
  w.set("general.architecture", Value::str("llama"));
  const std::vector<std::string> toks = {"<s>",
                                         "a",
                                         "b",
                                         "c",
                                         "\xc4\xa0",
                                         "ab",
                                         "bc",
                                         "abc",
                                         "\xc4\xa0"
                                         "a"};
  std::vector<Value> tv, yv, mv;
  for (size_t i = 0; i < toks.size(); ++i) {
    tv.push_back(Value::str(toks[i]));
    yv.push_back(Value::i32(i == 0 ? 3 : 1));
  }
  for (const auto& m : merges) mv.push_back(Value::str(m));
  w.set("tokenizer.ggml.model", Value::str("gpt2"));
  w.set("tokenizer.ggml.pre", Value::str(pre));
  w.set("tokenizer.ggml.tokens", Value::array(ValueType::STRING, tv));
  w.set("tokenizer.ggml.token_type", Value::array(ValueType::I32, yv));
  w.set("tokenizer.ggml.merges", Value::array(ValueType::STRING, mv));
  w.set("tokenizer.ggml.bos_token_id", Value::u32(0));
  std::vector<float> dummy(32, 0.0f);
  w.add_tensor("dummy", 0, {32}, dummy.data());
  const std::string path = (dir / ("bpe-" + pre + "-" + std::to_string(merges.size()) + ".gguf")).string();
  w.write(path);
  return path;
}

std::string vocab_dir() {
  if (const char* e = std::getenv("QB_LLAMA_VOCAB_DIR")) return e;
  if (const char* h = std::getenv("HOME")) return (fs::path(h) / ".cache/qbench/llama.cpp-vocab").string();
  return "";
}

}  // namespace

TEST(Unicode, ClassesOfKnownCodePoints) {
  EXPECT_EQ(uc::flags('A'), uc::kLetter);
  EXPECT_EQ(uc::flags('z'), uc::kLetter);
  EXPECT_EQ(uc::flags('7'), uc::kNumber);
  EXPECT_EQ(uc::flags('\''), 0);
  EXPECT_EQ(uc::flags(' '), uc::kWhitespace);
  EXPECT_EQ(uc::flags('\t'), uc::kWhitespace);
  EXPECT_EQ(uc::flags(0x1C), 0) << "U+001C is not White_Space (str.isspace() says otherwise)";
  EXPECT_EQ(uc::flags(0x85), uc::kWhitespace);
  EXPECT_EQ(uc::flags(0x3000), uc::kWhitespace);
  EXPECT_EQ(uc::flags(0xE9), uc::kLetter);     // é
  EXPECT_EQ(uc::flags(0x4E2D), uc::kLetter);   // 中 (inside a range entry of UnicodeData.txt)
  EXPECT_EQ(uc::flags(0xD55C), uc::kLetter);   // 한 (Hangul syllable range)
  EXPECT_EQ(uc::flags(0x0663), uc::kNumber);   // Arabic-Indic three
  EXPECT_EQ(uc::flags(0x2167), uc::kNumber);   // Roman numeral eight (Nl)
  EXPECT_EQ(uc::flags(0x00BD), uc::kNumber);   // ½ (No)
  EXPECT_EQ(uc::flags(0x0301), uc::kMark);     // combining acute
  EXPECT_EQ(uc::flags(0x1F600), 0);            // emoji: So
  EXPECT_EQ(uc::flags(0x0378), 0);             // unassigned
  EXPECT_EQ(uc::flags(0x1FAE8), 0);            // shaking face (Unicode 15.0): So
  EXPECT_EQ(uc::flags(0x2EBF0), uc::kLetter);  // CJK Extension I (Unicode 15.1)
  EXPECT_EQ(uc::flags(0x110000), 0);
  EXPECT_STREQ(uc::kTableVersion, "15.1.0");
  ASSERT_GT(uc::kRangeCount, 1000u);
  EXPECT_EQ(uc::kRanges[0].first, 0u);
  for (size_t i = 1; i < uc::kRangeCount; ++i) ASSERT_LT(uc::kRanges[i - 1].first, uc::kRanges[i].first) << i;
}

TEST(Unicode, DecodesLikeLlamaCpp) {
  using V = std::vector<uint32_t>;
  EXPECT_EQ(uc::decode_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), (V{'a', 0xE9, 0x20AC, 0x1F600}));
  EXPECT_EQ(uc::decode_utf8("\xff"), (V{0xFFFD}));
  EXPECT_EQ(uc::decode_utf8("\x80x"), (V{0xFFFD, 'x'}));
  EXPECT_EQ(uc::decode_utf8("\xc3"), (V{0xFFFD}));                    // truncated at the end
  EXPECT_EQ(uc::decode_utf8("\xe2\x82x"), (V{0xFFFD, 0xFFFD, 'x'}));  // each byte of a bad sequence
  EXPECT_EQ(uc::decode_utf8("\xed\xa0\x80"), (V{0xD800}));            // surrogates pass, as in llama.cpp
  EXPECT_EQ(uc::decode_utf8("\xc0\xaf"), (V{0x2F}));                  // overlong: its value
  std::string s;
  uc::append_utf8(0x20AC, s);
  uc::append_utf8(0x1F600, s);
  EXPECT_EQ(s, "\xe2\x82\xac\xf0\x9f\x98\x80");
}

TEST(BpeSplit, Llama3) {
  EXPECT_EQ(words(PreTokenizer::Llama3, "Hello world's 12345  \n\n x"),
            (W{"Hello", " world", "'s", " ", "123", "45", "  \n\n", " x"}));
  EXPECT_EQ(words(PreTokenizer::Llama3, "I'LL go...\n\nnow"), (W{"I", "'LL", " go", "...\n\n", "now"}));
  EXPECT_EQ(words(PreTokenizer::Llama3, "\tword  x   "), (W{"\tword", " ", " x", "   "}));
  EXPECT_EQ(words(PreTokenizer::Llama3, "a \xf0\x9f\x98\x80!"), (W{"a", " \xf0\x9f\x98\x80!"}));
  EXPECT_EQ(words(PreTokenizer::Llama3, "$x"), (W{"$x"}));
}

TEST(BpeSplit, Qwen2DigitsOneByOne) {
  EXPECT_EQ(words(PreTokenizer::Qwen2, "ab 2024!"), (W{"ab", " ", "2", "0", "2", "4", "!"}));
}

TEST(BpeSplit, Gpt2) {
  EXPECT_EQ(words(PreTokenizer::Gpt2, "Hello world's 12345  \n\n x"),
            (W{"Hello", " world", "'s", " 12345", "  \n\n", " x"}));
  // Contractions are case-sensitive here: "'LL" is punctuation + letters.
  EXPECT_EQ(words(PreTokenizer::Gpt2, "I'LL a\tb"), (W{"I", "'", "LL", " a", "\t", "b"}));
}

TEST(BpeSplit, SmolLMNumbersAlone) {
  EXPECT_EQ(words(PreTokenizer::SmolLM, "a1b 22"), (W{"a", "1", "b", " ", "2", "2"}));
}

TEST(BpeTokenizer, MergesByRankAndIgnoreMerges) {
  const auto d = tmpdir();
  // "b c" before "a b": abc -> a + bc; the other order: ab + c.
  {
    auto f = qb::gguf::File::open(write_bpe_vocab(d, "gpt-2", {"b c", "a b"}));
    auto t = qb::model::load_tokenizer(*f);
    EXPECT_EQ(t->kind(), "bpe (pre-tokenizer gpt-2)");
    EXPECT_FALSE(t->add_bos());  // GPT-2: no BOS unless the metadata asks
    EXPECT_EQ(t->tokenize("abc"), (std::vector<int32_t>{1, 6}));
    EXPECT_EQ(t->tokenize(" a"), (std::vector<int32_t>{4, 1}));  // no "Ġ a" merge
    EXPECT_EQ(t->piece(4), " ");
  }
  {
    auto f = qb::gguf::File::open(write_bpe_vocab(d, "gpt-2", {"a b", "b c"}));
    EXPECT_EQ(qb::model::load_tokenizer(*f)->tokenize("abc"), (std::vector<int32_t>{5, 3}));
  }
  // Llama 3: a word that is a token whole is taken without merges, and BOS comes first.
  {
    auto f = qb::gguf::File::open(write_bpe_vocab(d, "llama-bpe", {}));
    auto t = qb::model::load_tokenizer(*f);
    EXPECT_TRUE(t->add_bos());
    EXPECT_EQ(t->tokenize("abc"), (std::vector<int32_t>{0, 7}));
    EXPECT_EQ(t->tokenize("abc", false), (std::vector<int32_t>{7}));
    EXPECT_EQ(t->tokenize(" a"), (std::vector<int32_t>{0, 8}));
  }
  fs::remove_all(d);
}

TEST(BpeTokenizer, RefusesUnknownPreTokenizerNamingSupported) {
  const auto d = tmpdir();
  auto f = qb::gguf::File::open(write_bpe_vocab(d, "klingon", {}));
  try {
    qb::model::load_tokenizer(*f);
    FAIL() << "expected a UsageError";
  } catch (const qb::UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'klingon'"), std::string::npos) << what;
    EXPECT_NE(what.find("supported: llama3, llama-v3, llama-bpe, qwen2"), std::string::npos) << what;
    EXPECT_NE(what.find("smollm"), std::string::npos) << what;
  }
  fs::remove_all(d);
}

// llama.cpp's expected ids for its own test texts (tests/test-tokenizer-0: add_special=false).
TEST(BpeTokenizer, LlamaCppGoldenFiles) {
  const std::string dir = vocab_dir();
  int checked = 0;
  for (const char* v : {"llama-bpe", "qwen2", "gpt-2", "starcoder", "refact", "mpt"}) {
    const fs::path model = fs::path(dir) / (std::string("ggml-vocab-") + v + ".gguf");
    if (!fs::exists(model)) continue;
    std::ifstream inp(model.string() + ".inp", std::ios::binary), outp(model.string() + ".out");
    ASSERT_TRUE(inp.good() && outp.good()) << model;
    std::stringstream ss;
    ss << inp.rdbuf();
    const std::string all = ss.str(), sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    for (size_t pos = 0; pos < all.size();) {
      const size_t m = all.find(sep, pos);
      if (m == std::string::npos) break;
      texts.push_back(all.substr(pos, m - pos));
      pos = m + sep.size();
    }
    auto f = qb::gguf::File::open(model.string());
    auto tok = qb::model::load_tokenizer(*f);
    std::string line;
    size_t i = 0;
    for (; i < texts.size() && std::getline(outp, line); ++i) {
      std::vector<int32_t> want;
      std::istringstream ls(line);
      for (int32_t x; ls >> x;) want.push_back(x);
      EXPECT_EQ(tok->tokenize(texts[i], false), want) << v << " text " << i << ": '" << texts[i] << "'";
    }
    EXPECT_EQ(i, texts.size()) << v;
    EXPECT_GT(texts.size(), 20u) << v;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no llama.cpp vocabularies in " << dir << " (scripts/fetch_llama_vocab.py)";
}
