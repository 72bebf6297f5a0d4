// The tokenizer a GGUF model carries (tokenizer.ggml.model): "llama" -> SentencePiece
// (tokenizer_spm.h: Gemma, Llama 2), "gpt2" -> byte-level BPE (tokenizer_bpe.h: Llama 3, Qwen2/2.5/3,
// SmolLM, GPT-2). Both give the ids of llama.cpp's llama_tokenize(add_special, parse_special=false).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qb::gguf {
class File;
}

namespace qb::model {

enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // add_special: BOS / EOS around the text when the metadata asks for them.
  virtual std::vector<int32_t> tokenize(std::string_view text, bool add_special = true) const = 0;
  // The bytes a token stands for.
  virtual std::string piece(int32_t id) const = 0;
  // "spm", or "bpe (pre-tokenizer <name>)".
  virtual std::string kind() const = 0;

  int32_t n_vocab() const { return int32_t(tokens_.size()); }
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  bool add_bos() const { return add_bos_; }
  const std::string& token_text(int32_t id) const { return tokens_.at(size_t(id)); }
  TokenType token_type(int32_t id) const { return types_.at(size_t(id)); }

 protected:
  struct TextHash {  // lets string_view keys look up std::string entries
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using TextMap = std::unordered_map<std::string, int32_t, TextHash, std::equal_to<>>;
  int32_t find(std::string_view text) const;  // token id of a text, -1 when not a token
  // A token id from metadata (fallback when absent), -1 when it is not a token.
  int32_t token_id(const gguf::File& f, const char* key, int64_t fallback) const;
  // tokenizer.ggml.{bos,eos}_token_id and add_{bos,eos}_token with the tokenizer's defaults;
  // throws qb::UsageError when BOS is to be added but is not a token.
  void read_special_tokens(const gguf::File& f, int64_t bos, int64_t eos, bool add_bos);
  // A piece of the input: a token cut out already, or raw text [off, off + len).
  struct Fragment {
    int32_t token;  // -1: raw text
    size_t off, len;
  };
  // Reads tokenizer.ggml.{tokens,token_type}; throws qb::UsageError when they are missing or short.
  void read_vocab(const gguf::File& f);
  // With parse_special = false llama.cpp cuts only user-defined tokens out of the text (control
  // and unknown tokens stay text), longest first; the rest is raw text.
  std::vector<Fragment> split_user_defined(std::string_view text) const;

  std::vector<std::string> tokens_;
  std::vector<TokenType> types_;
  TextMap index_;                      // text -> id; a repeated text maps to its last id, as in llama.cpp
  std::vector<int32_t> user_defined_;  // longest text first
  int32_t bos_ = -1, eos_ = -1;
  bool add_bos_ = false, add_eos_ = false;
};

// A boolean metadata key (tokenizer.ggml.add_bos_token, ...), or fallback when absent.
bool metadata_bool(const gguf::File& f, const char* key, bool fallback);

// Picks the tokenizer by tokenizer.ggml.model; throws qb::UsageError for an unknown one (naming
// the known ones) or bad metadata.
std::unique_ptr<Tokenizer> load_tokenizer(const gguf::File& f);

}  // namespace qb::model
