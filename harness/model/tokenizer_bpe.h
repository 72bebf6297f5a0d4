// Byte-level BPE tokenizer from a GGUF file's tokenizer.ggml.* metadata (tokenizer.ggml.model =
// "gpt2": Llama 3, Qwen2/2.5/3, SmolLM, GPT-2). Token ids are identical to llama.cpp's
// llama_tokenize(add_special, parse_special=false):
//  1. user-defined tokens are cut out of the text first (Tokenizer::split_user_defined);
//  2. each remaining fragment is decoded to code points (unicode.h, invalid bytes -> U+FFFD) and
//     split into words by the pre-tokenizer tokenizer.ggml.pre names (tokenizer_bpe_split.h);
//  3. each word's UTF-8 bytes are mapped to GPT-2's printable byte alphabet (byte b stands for
//     itself when printable Latin-1, else for U+0100 + the count of unprintable bytes below it);
//  4. with ignore_merges (llama3 family) a word that is a token as a whole is that token;
//     otherwise its characters are merged pairwise, lowest tokenizer.ggml.merges rank first (ties:
//     leftmost pair), and each final piece is its token, or, when it is none, the tokens of its
//     single bytes that exist (others dropped, as llama.cpp does).
// BOS is added when add_special is set and tokenizer.ggml.add_bos_token (default: true for the
// llama3 family, else false) says so; EOS likewise with add_eos_token (default false).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/tokenizer.h"
#include "model/tokenizer_bpe_split.h"

namespace qb::model {

class BpeTokenizer : public Tokenizer {
 public:
  // Throws qb::UsageError when the model is not "gpt2", the merges are missing, or
  // tokenizer.ggml.pre is not one this runtime splits like llama.cpp (the message lists them).
  static std::unique_ptr<BpeTokenizer> from_gguf(const gguf::File& f);

  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true) const override;
  std::string piece(int32_t id) const override;
  std::string kind() const override { return "bpe (pre-tokenizer " + pre_name_ + ")"; }

 private:
  int32_t rank(std::string_view left, std::string_view right) const;  // -1 when no merge
  void bpe_word(const std::string& word, std::vector<int32_t>& out) const;

  // Merge rank by its line "left right" (split at the first space after the first character).
  TextMap ranks_;
  PreTokenizer pre_ = PreTokenizer::Gpt2;
  std::string pre_name_;
  bool ignore_merges_ = false;
};

}  // namespace qb::model
