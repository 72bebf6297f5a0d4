#include "model/tokenizer_bpe.h"

#include <algorithm>
#include <array>
#include <queue>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "model/unicode.h"
#include "qb/errors.h"

namespace qb::model {

namespace {

// GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the other 68 bytes for
// U+0100.. in byte order. byte_chars()[b] is the UTF-8 of byte b's character.
const std::array<std::string, 256>& byte_chars() {
  static const std::array<std::string, 256> t = [] {
    std::array<std::string, 256> a;
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      unicode::append_utf8(printable ? uint32_t(b) : next++, a[size_t(b)]);
    }
    return a;
  }();
  return t;
}

struct Symbol {
  int prev, next;
  const char* text;
  size_t n;
};

struct Bigram {
  int left, right;
  int32_t rank;
  size_t size;
};
struct BigramAfter {
  // Lowest rank on top; equal ranks: the leftmost pair first.
  bool operator()(const Bigram& l, const Bigram& r) const {
    return l.rank > r.rank || (l.rank == r.rank && l.left > r.left);
  }
};

}  // namespace

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_gguf(const gguf::File& f) {
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "gpt2")
    throw UsageError(fmt::format("{}: tokenizer '{}' is not byte-level BPE (gpt2)", f.path(), model));
  auto t = std::unique_ptr<BpeTokenizer>(new BpeTokenizer());
  const std::string pre = f.get_string("tokenizer.ggml.pre");
  const auto names = pre_tokenizer_names();
  auto it = std::find_if(names.begin(), names.end(), [&](const PreTokenizerName& p) { return p.name == pre; });
  if (it == names.end())
    throw UsageError(fmt::format("{}: BPE pre-tokenizer '{}' is not supported; supported: {}", f.path(),
                                 pre.empty() ? "<none>" : pre, pre_tokenizer_list()));
  t->pre_ = it->kind;
  t->pre_name_ = pre;
  t->read_vocab(f);

  const gguf::Value* merges = f.find("tokenizer.ggml.merges");
  if (!merges || !merges->is_array() || merges->elem != gguf::ValueType::STRING)
    throw UsageError(
        fmt::format("{}: tokenizer metadata 'tokenizer.ggml.merges' is missing or not an array of strings", f.path()));
  t->ranks_.reserve(merges->items.size());
  for (size_t i = 0; i < merges->items.size(); ++i) {
    const std::string& m = merges->items[i].s;
    if (m.find(' ', 1) == std::string::npos) continue;  // not a pair: never matches
    t->ranks_.try_emplace(m, int32_t(i));               // a repeated merge keeps its first rank
  }

  // llama.cpp: the llama3 family takes a word that is a token whole and adds BOS by default.
  const bool llama3 = t->pre_ == PreTokenizer::Llama3;
  t->ignore_merges_ = llama3;
  t->read_special_tokens(f, 11, 11, llama3);
  return t;
}

int32_t BpeTokenizer::rank(std::string_view left, std::string_view right) const {
  thread_local std::string key;
  key.assign(left);
  key += ' ';
  key += right;
  auto it = ranks_.find(key);
  return it == ranks_.end() ? -1 : it->second;
}

std::string BpeTokenizer::piece(int32_t id) const {
  const std::string& s = token_text(id);
  const TokenType ty = token_type(id);
  if (ty != TokenType::Normal && ty != TokenType::Undefined) return s;  // user-defined, control: as written
  // Each character of the byte alphabet back to its byte.
  static const std::unordered_map<uint32_t, uint8_t> back = [] {
    std::unordered_map<uint32_t, uint8_t> m;
    for (int b = 0; b < 256; ++b) m[unicode::decode_utf8(byte_chars()[size_t(b)])[0]] = uint8_t(b);
    return m;
  }();
  std::string out;
  for (uint32_t c : unicode::decode_utf8(s)) {
    auto it = back.find(c);
    if (it != back.end())
      out += char(it->second);
    else
      unicode::append_utf8(c, out);
  }
  return out;
}

void BpeTokenizer::bpe_word(const std::string& word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    if (const int32_t tok = find(word); tok >= 0) {
      out.push_back(tok);
      return;
    }
  }
  std::vector<Symbol> sym;
  sym.reserve(word.size());
  for (size_t off = 0; off < word.size();) {
    const size_t len = std::min(unicode::utf8_len(static_cast<unsigned char>(word[off])), word.size() - off);
    const int idx = int(sym.size());
    off += len;
    sym.push_back({idx - 1, off == word.size() ? -1 : idx + 1, word.data() + off - len, len});
  }
  std::priority_queue<Bigram, std::vector<Bigram>, BigramAfter> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = sym[size_t(left)];
    const Symbol& r = sym[size_t(right)];
    const int32_t rk = rank({l.text, l.n}, {r.text, r.n});
    if (rk >= 0) queue.push({left, right, rk, l.n + r.n});
  };
  for (int i = 1; i < int(sym.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[size_t(b.left)];
    Symbol& r = sym[size_t(b.right)];
    // Stale: a side was merged away, or the right side grew since this pair was queued.
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[size_t(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int i = sym.empty() ? -1 : 0; i != -1; i = sym[size_t(i)].next) {
    const std::string_view p(sym[size_t(i)].text, sym[size_t(i)].n);
    if (const int32_t tok = find(p); tok >= 0) {
      out.push_back(tok);
      continue;
    }
    for (char c : p)
      if (const int32_t tok = find(std::string_view(&c, 1)); tok >= 0) out.push_back(tok);
  }
}

std::vector<int32_t> BpeTokenizer::tokenize(std::string_view text, bool add_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && add_bos_) out.push_back(bos_);
  const auto& bytes = byte_chars();
  std::string utf8, word;
  for (const Fragment& fr : split_user_defined(text)) {
    if (fr.token >= 0) {
      out.push_back(fr.token);
      continue;
    }
    const std::vector<uint32_t> cpts = unicode::decode_utf8(text.substr(fr.off, fr.len));
    size_t start = 0;
    for (size_t len : pre_tokenize(pre_, cpts)) {
      utf8.clear();
      for (size_t k = start; k < start + len; ++k) unicode::append_utf8(cpts[k], utf8);
      start += len;
      word.clear();
      for (unsigned char c : utf8) word += bytes[c];
      bpe_word(word, out);
    }
  }
  if (add_special && add_eos_ && eos_ >= 0) out.push_back(eos_);
  return out;
}

}  // namespace qb::model
