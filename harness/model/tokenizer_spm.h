// SentencePiece (SPM) tokenizer built from a GGUF file's tokenizer.ggml.* metadata
// (tokenizer.ggml.model = "llama": Gemma, Llama 2). Token ids are identical to llama.cpp's
// llama_tokenize(add_special, parse_special=false):
//  1. user-defined tokens (token_type 4, e.g. Gemma's "\n", space and tab runs, HTML tags) are cut
//     out of the raw text first, longest first, each becoming its own token;
//  2. each remaining text fragment gets a space prefix when add_space_prefix says so and the
//     fragment follows a special token (or starts the text), spaces become U+2581, and the fragment
//     is split into UTF-8 characters that are merged pairwise, highest vocabulary score first
//     (ties: leftmost pair first), as long as the merged text is a vocabulary token;
//  3. a final piece that is not a token is re-split along its merge history, and a piece with no
//     history becomes byte-fallback tokens <0xXX>.
// BOS (and EOS) are added when add_special is set and the metadata asks for them.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qb::gguf { class File; }

namespace qb::model {

enum class TokenType : int32_t { Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4,
                                 Unused = 5, Byte = 6 };

class SpmTokenizer {
 public:
  // Reads tokenizer.ggml.{model,tokens,scores,token_type,bos_token_id,eos_token_id,add_bos_token,
  // add_eos_token,add_space_prefix}. Throws qb::UsageError when the model is not "llama" or the
  // arrays are missing or inconsistent.
  static std::unique_ptr<SpmTokenizer> from_gguf(const gguf::File& f);

  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true) const;

  int32_t n_vocab() const { return int32_t(tokens_.size()); }
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  bool add_bos() const { return add_bos_; }
  const std::string& token_text(int32_t id) const { return tokens_.at(size_t(id)); }
  // The text a token stands for (U+2581 back to space, <0xXX> to its byte).
  std::string piece(int32_t id) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  int32_t find(std::string_view text) const;  // -1 when not a token
  void spm_fragment(const std::string& text, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> index_;
  std::vector<int32_t> user_defined_;  // longest text first
  int32_t byte_tokens_[256];
  int32_t bos_ = -1, eos_ = -1, unk_ = -1;
  bool add_bos_ = true, add_eos_ = false, add_space_prefix_ = true;
};

}  // namespace qb::model
