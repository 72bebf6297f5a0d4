#include "model/tokenizer.h"

#include <algorithm>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "model/tokenizer_bpe.h"
#include "model/tokenizer_spm.h"
#include "qb/errors.h"

namespace qb::model {

void Tokenizer::read_vocab(const gguf::File& f) {
  const gguf::Value* toks = f.find("tokenizer.ggml.tokens");
  if (!toks || !toks->is_array() || toks->elem != gguf::ValueType::STRING)
    throw UsageError(
        fmt::format("{}: tokenizer metadata 'tokenizer.ggml.tokens' is missing or not an array of strings", f.path()));
  const size_t n = toks->items.size();
  if (n == 0) throw UsageError(fmt::format("{}: tokenizer.ggml.tokens is empty", f.path()));
  tokens_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    tokens_[i] = toks->items[i].s;
    if (tokens_[i].empty()) tokens_[i] = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp names them
  }
  types_.assign(n, TokenType::Normal);
  if (const gguf::Value* s = f.find("tokenizer.ggml.token_type")) {
    if (!s->is_array() || s->items.size() < n)
      throw UsageError(fmt::format("{}: tokenizer.ggml.token_type has fewer entries than tokens", f.path()));
    for (size_t i = 0; i < n; ++i) {
      const int64_t ty = s->items[i].as_int();
      types_[i] = ty >= 0 && ty <= 6 ? TokenType(ty) : TokenType::Undefined;
    }
  }
  index_.clear();
  index_.reserve(n);
  for (size_t i = 0; i < n; ++i) index_[tokens_[i]] = int32_t(i);
  user_defined_.clear();
  for (size_t i = 0; i < n; ++i)
    if (types_[i] == TokenType::UserDefined) user_defined_.push_back(int32_t(i));
  std::stable_sort(user_defined_.begin(), user_defined_.end(),
                   [&](int32_t a, int32_t b) { return tokens_[size_t(a)].size() > tokens_[size_t(b)].size(); });
}

std::vector<Tokenizer::Fragment> Tokenizer::split_user_defined(std::string_view text) const {
  std::vector<Fragment> frags;
  if (!text.empty()) frags.push_back({-1, 0, text.size()});
  for (int32_t id : user_defined_) {
    const std::string& tt = tokens_[size_t(id)];
    std::vector<Fragment> next;
    next.reserve(frags.size());
    for (const Fragment& fr : frags) {
      if (fr.token >= 0) {
        next.push_back(fr);
        continue;
      }
      size_t pos = fr.off;
      const size_t end = fr.off + fr.len;
      const std::string_view scope = text.substr(0, end);
      while (pos < end) {
        const size_t m = scope.find(tt, pos);
        if (m == std::string_view::npos) break;
        if (m > pos) next.push_back({-1, pos, m - pos});
        next.push_back({id, 0, 0});
        pos = m + tt.size();
      }
      if (pos < end) next.push_back({-1, pos, end - pos});
    }
    frags.swap(next);
  }
  return frags;
}

std::unique_ptr<Tokenizer> load_tokenizer(const gguf::File& f) {
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model == "llama") return SpmTokenizer::from_gguf(f);
  if (model == "gpt2") return BpeTokenizer::from_gguf(f);
  throw UsageError(
      fmt::format("{}: tokenizer '{}' is not supported; known: llama (SentencePiece), gpt2 (byte-level BPE)", f.path(),
                  model.empty() ? "<none>" : model));
}

int32_t Tokenizer::find(std::string_view text) const {
  auto it = index_.find(text);
  return it == index_.end() ? -1 : it->second;
}

int32_t Tokenizer::token_id(const gguf::File& f, const char* key, int64_t fallback) const {
  const int64_t v = f.get_int(key, fallback);
  return v >= 0 && v < int64_t(tokens_.size()) ? int32_t(v) : int32_t(-1);
}

void Tokenizer::read_special_tokens(const gguf::File& f, int64_t bos, int64_t eos, bool add_bos) {
  bos_ = token_id(f, "tokenizer.ggml.bos_token_id", bos);
  eos_ = token_id(f, "tokenizer.ggml.eos_token_id", eos);
  add_bos_ = metadata_bool(f, "tokenizer.ggml.add_bos_token", add_bos);
  add_eos_ = metadata_bool(f, "tokenizer.ggml.add_eos_token", false);
  if (add_bos_ && bos_ < 0)
    throw UsageError(fmt::format("{}: add_bos_token is set but the BOS id is not a token", f.path()));
}

bool metadata_bool(const gguf::File& f, const char* key, bool fallback) {
  const gguf::Value* v = f.find(key);
  return v ? v->as_int() != 0 : fallback;
}

}  // namespace qb::model
