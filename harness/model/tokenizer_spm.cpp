#include "model/tokenizer_spm.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <queue>

#include <fmt/format.h>

#include "gguf/gguf.h"
#include "model/unicode.h"
#include "qb/errors.h"

namespace qb::model {

namespace {

struct Symbol {
  int prev, next;
  const char* text;
  size_t n;
};

struct Bigram {
  int left, right;
  float score;
  size_t size;
};
struct BigramLess {
  // Highest score on top; equal scores: the leftmost pair first.
  bool operator()(const Bigram& l, const Bigram& r) const {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

}  // namespace

std::unique_ptr<SpmTokenizer> SpmTokenizer::from_gguf(const gguf::File& f) {
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "llama")
    throw UsageError(fmt::format("{}: tokenizer '{}' is not supported (known: llama (SentencePiece))", f.path(),
                                 model.empty() ? "<none>" : model));
  auto t = std::unique_ptr<SpmTokenizer>(new SpmTokenizer());
  t->read_vocab(f);
  const size_t n = t->tokens_.size();
  t->scores_.assign(n, 0.0f);
  if (const gguf::Value* s = f.find("tokenizer.ggml.scores")) {
    if (!s->is_array() || s->items.size() < n)
      throw UsageError(fmt::format("{}: tokenizer.ggml.scores has fewer entries than tokens", f.path()));
    for (size_t i = 0; i < n; ++i) t->scores_[i] = float(s->items[i].as_double());
  }
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    t->byte_tokens_[b] = t->find(buf);
  }
  t->read_special_tokens(f, 1, 2, true);
  t->unk_ = t->token_id(f, "tokenizer.ggml.unknown_token_id", 0);
  t->add_space_prefix_ = metadata_bool(f, "tokenizer.ggml.add_space_prefix", true);

  return t;
}

std::string SpmTokenizer::piece(int32_t id) const {
  const std::string& s = token_text(id);
  if (types_[size_t(id)] == TokenType::Byte && s.size() == 6) {
    return std::string(1, char(std::stoi(s.substr(3, 2), nullptr, 16)));
  }
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, "\xe2\x96\x81") == 0) {
      out += ' ';
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void SpmTokenizer::spm_fragment(const std::string& text, std::vector<int32_t>& out) const {
  std::vector<Symbol> sym;
  sym.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const size_t len = std::min(unicode::utf8_len(static_cast<unsigned char>(text[off])), text.size() - off);
    const int idx = int(sym.size());
    off += len;
    sym.push_back({idx - 1, off == text.size() ? -1 : idx + 1, text.data() + off - len, len});
  }
  std::priority_queue<Bigram, std::vector<Bigram>, BigramLess> queue;
  std::map<std::string, std::pair<int, int>, std::less<>> rev_merge;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    std::string_view s(sym[size_t(left)].text, sym[size_t(left)].n + sym[size_t(right)].n);
    const int32_t tok = find(s);
    if (tok < 0) return;
    queue.push({left, right, scores_[size_t(tok)], s.size()});
    rev_merge.insert_or_assign(std::string(s), std::make_pair(left, right));
  };
  for (int i = 1; i < int(sym.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[size_t(b.left)];
    Symbol& r = sym[size_t(b.right)];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale: a side was merged already
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[size_t(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  // Final pieces: a token, or split along the merge that made it, or bytes.
  std::vector<int> stack;
  for (int i = sym.empty() ? -1 : 0; i != -1; i = sym[size_t(i)].next) {
    stack.push_back(i);
    while (!stack.empty()) {
      const Symbol& s = sym[size_t(stack.back())];
      stack.pop_back();
      std::string_view piece(s.text, s.n);
      const int32_t tok = find(piece);
      if (tok >= 0) {
        out.push_back(tok);
        continue;
      }
      auto it = rev_merge.find(piece);
      if (it == rev_merge.end()) {
        for (unsigned char c : piece) out.push_back(byte_tokens_[c] >= 0 ? byte_tokens_[c] : unk_);
        continue;
      }
      stack.push_back(it->second.second);  // right after left
      stack.push_back(it->second.first);
    }
  }
}

std::vector<int32_t> SpmTokenizer::tokenize(std::string_view text, bool add_special) const {
  const std::vector<Fragment> frags = split_user_defined(text);
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && add_bos_) out.push_back(bos_);
  bool prev_special = true;
  std::string buf;
  for (const Fragment& fr : frags) {
    if (fr.token >= 0) {
      out.push_back(fr.token);
      prev_special = true;
      continue;
    }
    buf.clear();
    if (add_space_prefix_ && prev_special) buf = "\xe2\x96\x81";
    for (char c : text.substr(fr.off, fr.len)) {
      if (c == ' ')
        buf += "\xe2\x96\x81";
      else
        buf += c;
    }
    spm_fragment(buf, out);
    prev_special = false;
  }
  if (add_special && add_eos_ && eos_ >= 0) out.push_back(eos_);
  return out;
}

}  // namespace qb::model
