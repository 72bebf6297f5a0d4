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

#include "model/tokenizer.h"

namespace qb::model {

class SpmTokenizer : public Tokenizer {
 public:
  // Reads tokenizer.ggml.{model,tokens,scores,token_type,bos_token_id,eos_token_id,add_bos_token,
  // add_eos_token,add_space_prefix}. Throws qb::UsageError when the model is not "llama" or the
  // arrays are missing or inconsistent.
  static std::unique_ptr<SpmTokenizer> from_gguf(const gguf::File& f);

  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true) const override;
  // The text a token stands for (U+2581 back to space, <0xXX> to its byte).
  std::string piece(int32_t id) const override;
  std::string kind() const override { return "spm"; }

 private:
  void spm_fragment(const std::string& text, std::vector<int32_t>& out) const;

  std::vector<float> scores_;
  int32_t byte_tokens_[256];
  int32_t unk_ = -1;
  bool add_space_prefix_ = true;
};

}  // namespace qb::model
