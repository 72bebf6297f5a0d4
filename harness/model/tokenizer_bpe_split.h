// BPE pre-tokenizers: the splits of text into words before merging, per tokenizer.ggml.pre, as
// hand-written scanners over code points (unicode.h classes) that behave like llama.cpp's:
//   gpt2   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama3 (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//          \s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2  as llama3 with \p{N} (one digit per word)
//   smollm every \p{N} code point its own word first, then gpt2 on the rest
// One deliberate difference from a regex engine, kept because llama.cpp has it: \s+(?!\S) is
// "a whitespace run minus its last code point when more text follows" (the run is never split
// before a letter that a later alternative would take with the space).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qb::model {

enum class PreTokenizer { Gpt2, Llama3, Qwen2, SmolLM };

// tokenizer.ggml.pre names this runtime splits like llama.cpp, and what each means.
struct PreTokenizerName {
  std::string_view name;
  PreTokenizer kind;
};
std::span<const PreTokenizerName> pre_tokenizer_names();
// "llama3, llama-v3, ..." for error messages.
std::string pre_tokenizer_list();

// Word lengths in code points covering cpts in order.
std::vector<size_t> pre_tokenize(PreTokenizer kind, std::span<const uint32_t> cpts);

}  // namespace qb::model
