#include "model/tokenizer_bpe_split.h"

#include <array>

#include "model/unicode.h"

namespace qb::model {

namespace {

constexpr std::array<PreTokenizerName, 11> kNames = {{
    {"llama3", PreTokenizer::Llama3},
    {"llama-v3", PreTokenizer::Llama3},
    {"llama-bpe", PreTokenizer::Llama3},
    {"qwen2", PreTokenizer::Qwen2},
    {"deepseek-r1-qwen", PreTokenizer::Qwen2},
    {"gpt-2", PreTokenizer::Gpt2},
    {"mpt", PreTokenizer::Gpt2},
    {"olmo", PreTokenizer::Gpt2},
    {"smollm", PreTokenizer::SmolLM},
    {"starcoder", PreTokenizer::SmolLM},
    {"refact", PreTokenizer::SmolLM},
}};

using unicode::flags;
using unicode::kLetter;
using unicode::kNumber;
using unicode::kWhitespace;

// Matches [^\s\p{L}\p{N}]: everything else, unassigned code points included.
inline bool is_other(uint8_t f) { return (f & (kWhitespace | kLetter | kNumber)) == 0; }
inline uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Length of an English contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t contraction(std::span<const uint32_t> c, size_t i, bool any_case) {
  const size_t n = c.size();
  if (c[i] != '\'' || i + 1 >= n) return 0;
  auto low = [&](size_t k) { return any_case ? ascii_lower(c[k]) : c[k]; };
  const uint32_t a = low(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= n) return 0;
  const uint32_t b = low(i + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// A whitespace run at i: the \s+(?!\S) / \s+ word length (GPT-2 rule), given where the run ends.
size_t whitespace_word(size_t i, size_t run_end, size_t n) {
  const size_t run = run_end - i;
  if (run > 1 && run_end < n) return run - 1;  // leave the last one to the word that follows
  return run > 0 ? run : 1;
}

void split_gpt2(std::span<const uint32_t> c, std::vector<size_t>& out) {
  const size_t n = c.size();
  for (size_t i = 0; i < n;) {
    size_t len = contraction(c, i, false);
    if (len == 0) {
      // ' ?X+' for X in letters, numbers, others: the optional space takes the class of what follows.
      const size_t s = c[i] == ' ' ? i + 1 : i;
      if (s < n) {
        const uint8_t f = flags(c[s]);
        auto same = [&](uint8_t g) {
          if (f & kLetter) return (g & kLetter) != 0;
          if (f & kNumber) return (g & kNumber) != 0;
          return is_other(g);
        };
        if ((f & (kLetter | kNumber)) || is_other(f)) {
          size_t j = s + 1;
          while (j < n && same(flags(c[j]))) ++j;
          len = j - i;
        }
      }
    }
    if (len == 0) {
      size_t j = i;
      while (j < n && (flags(c[j]) & kWhitespace)) ++j;
      len = whitespace_word(i, j, n);
    }
    out.push_back(len);
    i += len;
  }
}

void split_llama3(std::span<const uint32_t> c, size_t max_digits, std::vector<size_t>& out) {
  const size_t n = c.size();
  auto is_nl = [](uint32_t x) { return x == '\r' || x == '\n'; };
  for (size_t i = 0; i < n;) {
    size_t len = contraction(c, i, true);
    const uint8_t f = flags(c[i]);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (len == 0 && !is_nl(c[i]) && !(f & kNumber) && ((f & kLetter) || (i + 1 < n && (flags(c[i + 1]) & kLetter)))) {
      size_t j = i + 1;
      while (j < n && (flags(c[j]) & kLetter)) ++j;
      len = j - i;
    }
    // \p{N}{1,max}
    if (len == 0 && (f & kNumber)) {
      size_t j = i + 1;
      while (j < n && j - i < max_digits && (flags(c[j]) & kNumber)) ++j;
      len = j - i;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'; a lone space at the end is a word of its own.
    if (len == 0) {
      const size_t s = c[i] == ' ' ? i + 1 : i;
      if (s >= n) {
        len = 1;
      } else if (is_other(flags(c[s]))) {
        size_t j = s + 1;
        while (j < n && is_other(flags(c[j]))) ++j;
        while (j < n && is_nl(c[j])) ++j;
        len = j - i;
      }
    }
    // \s*[\r\n]+ (up to the run's last newline), else \s+(?!\S), else \s+
    if (len == 0) {
      size_t j = i, last_nl = 0;
      while (j < n && (flags(c[j]) & kWhitespace)) {
        if (is_nl(c[j])) last_nl = j + 1;
        ++j;
      }
      len = last_nl > 0 ? last_nl - i : whitespace_word(i, j, n);
    }
    out.push_back(len);
    i += len;
  }
}

}  // namespace

std::span<const PreTokenizerName> pre_tokenizer_names() { return kNames; }

std::string pre_tokenizer_list() {
  std::string s;
  for (const auto& p : kNames) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

std::vector<size_t> pre_tokenize(PreTokenizer kind, std::span<const uint32_t> cpts) {
  std::vector<size_t> out;
  switch (kind) {
    case PreTokenizer::Gpt2:
      split_gpt2(cpts, out);
      break;
    case PreTokenizer::Llama3:
      split_llama3(cpts, 3, out);
      break;
    case PreTokenizer::Qwen2:
      split_llama3(cpts, 1, out);
      break;
    case PreTokenizer::SmolLM: {
      // Numbers one code point each; GPT-2 rules between them.
      size_t i = 0;
      while (i < cpts.size()) {
        size_t j = i;
        while (j < cpts.size() && !(flags(cpts[j]) & kNumber)) ++j;
        if (j > i) split_gpt2(cpts.subspan(i, j - i), out);
        if (j < cpts.size()) out.push_back(1);
        i = j + 1;
      }
      break;
    }
  }
  return out;
}

}  // namespace qb::model
