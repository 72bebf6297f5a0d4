// Per-tensor type selection for `qbench quantize`; see presets.h. The rules are llama.cpp's
// (src/llama-quant.cpp), restated for the presets qbench offers.
#include "gguf/presets.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>

namespace qb::gguf {

namespace {
// ggml type ids used below.
enum : int {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kIQ4_NL = 20,
  kIQ4_XS = 23,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};
// llama_ftype values (general.file_type).
enum : int {
  ALL_F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 7,
  Q5_0 = 8,
  Q5_1 = 9,
  Q2_K = 10,
  Q3_K_S = 11,
  Q3_K_M = 12,
  Q3_K_L = 13,
  Q4_K_S = 14,
  Q4_K_M = 15,
  Q5_K_S = 16,
  Q5_K_M = 17,
  Q6_K = 18,
  IQ4_NL = 25,
  IQ4_XS = 30,
  BF16 = 32,
  TQ1_0 = 36,
  TQ2_0 = 37,
  MXFP4_MOE = 38,
};

constexpr Preset kPresets[] = {
    {"F32", ALL_F32, kF32},   {"F16", F16, kF16},           {"BF16", BF16, kBF16},       {"Q8_0", Q8_0, kQ8_0},
    {"Q6_K", Q6_K, kQ6_K},    {"Q5_K_M", Q5_K_M, kQ5_K},    {"Q5_K_S", Q5_K_S, kQ5_K},   {"Q5_1", Q5_1, kQ5_1},
    {"Q5_0", Q5_0, kQ5_0},    {"Q4_K_M", Q4_K_M, kQ4_K},    {"Q4_K_S", Q4_K_S, kQ4_K},   {"Q4_1", Q4_1, kQ4_1},
    {"Q4_0", Q4_0, kQ4_0},    {"Q3_K_L", Q3_K_L, kQ3_K},    {"Q3_K_M", Q3_K_M, kQ3_K},   {"Q3_K_S", Q3_K_S, kQ3_K},
    {"Q2_K", Q2_K, kQ2_K},    {"IQ4_NL", IQ4_NL, kIQ4_NL},  {"IQ4_XS", IQ4_XS, kIQ4_XS}, {"TQ2_0", TQ2_0, kTQ2_0},
    {"TQ1_0", TQ1_0, kTQ1_0}, {"MXFP4", MXFP4_MOE, kMXFP4},
};

enum class Cat { TokenEmbd, AttnQ, AttnV, AttnK, AttnQKV, AttnKVB, AttnOut, FfnUp, FfnGate, FfnDown, Output, Other };

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }
bool ends_with(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

Cat category(const std::string& n) {
  if (n == "output.weight") return Cat::Output;
  if (n == "token_embd.weight" || n == "per_layer_token_embd.weight") return Cat::TokenEmbd;
  if (has(n, "attn_qkv.weight")) return Cat::AttnQKV;
  if (has(n, "attn_kv_b.weight")) return Cat::AttnKVB;
  if (has(n, "attn_v.weight")) return Cat::AttnV;
  if (has(n, "attn_k.weight")) return Cat::AttnK;
  if (has(n, "attn_q.weight")) return Cat::AttnQ;
  if (has(n, "attn_output.weight")) return Cat::AttnOut;
  if (has(n, "ffn_up")) return Cat::FfnUp;
  if (has(n, "ffn_gate")) return Cat::FfnGate;
  if (has(n, "ffn_down")) return Cat::FfnDown;
  return Cat::Other;
}
bool attn_v_like(Cat c) { return c == Cat::AttnV || c == Cat::AttnQKV || c == Cat::AttnKVB; }

int n_dims(const std::vector<int64_t>& d) {
  int n = int(d.size());
  while (n > 1 && d[n - 1] == 1) --n;
  return std::max(n, 1);
}

// Tensors llama.cpp never converts: 1-D, not a ".weight", norms, routers, small special tensors.
bool allows_quantization(const PlanInput& t) {
  if (n_dims(t.dims) < 2) return false;
  const std::string& n = t.name;
  if (!ends_with(n, "weight")) return false;
  static const char* const kSkip[] = {"_norm.weight",
                                      "ffn_gate_inp.weight",
                                      "ffn_gate_tid2eid.weight",
                                      "altup",
                                      "laurel",
                                      "per_layer_model_proj",
                                      "ssm_conv1d",
                                      "shortconv.conv.weight",
                                      "indexer.k_proj.weight",
                                      "indexer.q_proj.weight",
                                      "time_mix_first.weight",
                                      "time_mix_w0.weight",
                                      "time_mix_w1.weight",
                                      "time_mix_w2.weight",
                                      "time_mix_v0.weight",
                                      "time_mix_v1.weight",
                                      "time_mix_v2.weight",
                                      "time_mix_a0.weight",
                                      "time_mix_a1.weight",
                                      "time_mix_a2.weight",
                                      "time_mix_g1.weight",
                                      "time_mix_g2.weight",
                                      "time_mix_decay_w1.weight",
                                      "time_mix_decay_w2.weight",
                                      "time_mix_lerp_fused.weight",
                                      "attn_rel_b.weight",
                                      ".position_embd",
                                      "sam.pos_embd",
                                      "sam.neck.",
                                      "sam.net_",
                                      ".rel_pos",
                                      ".patch_embd",
                                      ".patch_merger",
                                      "a.rvq.codebook",
                                      "mm.a.code_embd"};
  for (const char* s : kSkip)
    if (has(n, s)) return false;
  if (n == "position_embd.weight" || n == "token_types.weight") return false;
  return true;
}

bool is_quantized_type(int t) { return t != kF32 && t != kF16 && t != kBF16; }

int block_of(int type) {
  const GgmlType* g = ggml_type(type);
  return g ? g->block_size : 1;
}
std::string tname(int type) {
  const GgmlType* g = ggml_type(type);
  return g ? std::string(g->name) : std::to_string(type);
}

bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

int layer_of(const std::string& name) {
  int l = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &l) != 1) return -1;
  return l;
}

struct State {
  const ModelFacts& m;
  int ftype;
  bool tied = true;
  bool is_70b = false;
  int n_attn_v = 0, i_attn_v = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;
};

int choose(State& qs, int new_type, const PlanInput& t, Cat cat) {
  const int ft = qs.ftype;
  const bool falcon = qs.m.arch == "falcon";
  const int gqa = qs.m.n_gqa();
  auto layer = [&](int counter) {
    int n = qs.m.n_layer;
    if (qs.m.n_expert > 1) {
      int l = layer_of(t.name);
      if (l >= 0 && l < n) return std::make_pair(l, n);
    }
    return std::make_pair(counter, n);
  };

  if (cat == Cat::Output || (qs.tied && cat == Cat::TokenEmbd)) {
    const int64_t nx = t.dims.empty() ? 1 : t.dims[0];
    if (ft == MXFP4_MOE)
      new_type = kQ8_0;
    else if (falcon || nx % block_of(new_type) != 0)
      new_type = kQ8_0;
    else if (new_type != kQ8_0)
      new_type = kQ6_K;
  } else if (ft == MXFP4_MOE) {
    const bool expert_role = cat == Cat::FfnUp || cat == Cat::FfnGate || cat == Cat::FfnDown;
    const int64_t ne2 = t.dims.size() > 2 ? t.dims[2] : 1;
    new_type = (ne2 > 1 && (qs.m.arch != "bailingmoe3" || expert_role)) ? kMXFP4 : kQ8_0;
  } else if (cat == Cat::TokenEmbd) {
    if (ft == TQ1_0 || ft == TQ2_0) new_type = kQ4_K;
  } else if (attn_v_like(cat)) {
    if (ft == Q2_K)
      new_type = gqa >= 4 ? kQ4_K : kQ3_K;
    else if (ft == Q3_K_M)
      new_type = qs.i_attn_v < 2 ? kQ5_K : kQ4_K;
    else if (ft == Q3_K_L)
      new_type = kQ5_K;
    else if ((ft == IQ4_NL || ft == IQ4_XS) && gqa >= 4)
      new_type = kQ5_K;
    else if ((ft == Q4_K_M || ft == Q5_K_M) && use_more_bits(qs.i_attn_v, qs.n_attn_v))
      new_type = kQ6_K;
    else if (ft == Q4_K_S && qs.i_attn_v < 4)
      new_type = kQ5_K;
    if (qs.is_70b && (new_type == kQ3_K || new_type == kQ4_K)) new_type = kQ5_K;
    if (qs.m.n_expert == 8) new_type = kQ8_0;
    ++qs.i_attn_v;
  } else if (cat == Cat::AttnK) {
    if (qs.m.n_expert == 8) new_type = kQ8_0;
  } else if (cat == Cat::AttnQ) {
    // only the IQ3 mixes (not offered) change attn_q
  } else if (cat == Cat::FfnDown) {
    auto [i, n] = layer(qs.i_ffn_down);
    if (ft == Q2_K)
      new_type = kQ3_K;
    else if (ft == Q3_K_M)
      new_type = i < n / 16 ? kQ5_K : (!falcon || use_more_bits(i, n)) ? kQ4_K : kQ3_K;
    else if (ft == Q3_K_L)
      new_type = falcon ? kQ4_K : kQ5_K;
    else if (ft == Q4_K_M) {
      if (falcon)
        new_type = i < n / 16 ? kQ6_K : use_more_bits(i, n) ? kQ5_K : kQ4_K;
      else if (use_more_bits(i, n))
        new_type = kQ6_K;
    } else if (i < n / 8 && (ft == IQ4_NL || ft == IQ4_XS))
      new_type = kQ5_K;  // no imatrix
    else if (ft == Q5_K_M && use_more_bits(i, n))
      new_type = kQ6_K;
    else if (ft == Q4_K_S && !falcon && i < n / 8)
      new_type = kQ5_K;
    ++qs.i_ffn_down;
  } else if (cat == Cat::AttnOut) {
    if (!falcon) {
      if (qs.m.n_expert == 8) {
        if (ft == Q2_K || ft == Q3_K_S || ft == Q3_K_M || ft == IQ4_NL || ft == Q4_K_S || ft == Q4_K_M || ft == IQ4_XS)
          new_type = kQ5_K;
      } else {
        if (ft == Q2_K)
          new_type = kQ3_K;
        else if (ft == Q3_K_M)
          new_type = kQ4_K;
        else if (ft == Q3_K_L)
          new_type = kQ5_K;
      }
    } else if (ft == Q3_K_L) {
      new_type = kQ4_K;
    }
  } else if (cat == Cat::AttnQKV) {
    if (ft == Q3_K_M || ft == Q3_K_L)
      new_type = kQ4_K;
    else if (ft == Q4_K_M)
      new_type = kQ5_K;
    else if (ft == Q5_K_M)
      new_type = kQ6_K;
  } else if (cat == Cat::FfnGate) {
    ++qs.i_ffn_gate;
  } else if (cat == Cat::FfnUp) {
    ++qs.i_ffn_up;
  }
  return new_type;
}

// A row length the chosen type cannot hold: llama.cpp's fallback table.
int fallback(int type, int64_t ncols, std::string* note, bool* used) {
  int bs = block_of(type);
  if (ncols % bs == 0) return type;
  int r;
  switch (type) {
    case kIQ4_XS:
      r = kIQ4_NL;
      break;
    case kQ2_K:
    case kQ3_K:
    case kTQ1_0:
    case kTQ2_0:
      r = kQ4_0;
      break;
    case kQ4_K:
      r = kQ5_0;
      break;
    case kQ5_K:
      r = kQ5_1;
      break;
    case kQ6_K:
      r = kQ8_0;
      break;
    default:
      r = kF16;
      break;  // llama.cpp has no fallback for these and stops; qbench keeps F16
  }
  if (ncols % block_of(r) != 0) r = kF16;
  *used = true;
  *note = "ncols " + std::to_string(ncols) + " not divisible by " + std::to_string(bs) + " (" + tname(type) + ") -> " +
          tname(r);
  return r;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower((unsigned char)x) == std::tolower((unsigned char)y);
         });
}
}  // namespace

std::span<const Preset> presets() { return kPresets; }

const Preset* find_preset(std::string_view name) {
  for (const auto& p : kPresets)
    if (iequal(p.name, name)) return &p;
  return nullptr;
}

std::string preset_names() {
  std::string s;
  for (const auto& p : kPresets) {
    if (!s.empty()) s += " ";
    s += p.name;
  }
  return s;
}

std::string_view ftype_name(int64_t ft) {
  static const std::pair<int, const char*> kNames[] = {
      {0, "ALL_F32"},           {1, "MOSTLY_F16"},     {2, "MOSTLY_Q4_0"},    {3, "MOSTLY_Q4_1"},
      {7, "MOSTLY_Q8_0"},       {8, "MOSTLY_Q5_0"},    {9, "MOSTLY_Q5_1"},    {10, "MOSTLY_Q2_K"},
      {11, "MOSTLY_Q3_K_S"},    {12, "MOSTLY_Q3_K_M"}, {13, "MOSTLY_Q3_K_L"}, {14, "MOSTLY_Q4_K_S"},
      {15, "MOSTLY_Q4_K_M"},    {16, "MOSTLY_Q5_K_S"}, {17, "MOSTLY_Q5_K_M"}, {18, "MOSTLY_Q6_K"},
      {19, "MOSTLY_IQ2_XXS"},   {20, "MOSTLY_IQ2_XS"}, {21, "MOSTLY_Q2_K_S"}, {22, "MOSTLY_IQ3_XS"},
      {23, "MOSTLY_IQ3_XXS"},   {24, "MOSTLY_IQ1_S"},  {25, "MOSTLY_IQ4_NL"}, {26, "MOSTLY_IQ3_S"},
      {27, "MOSTLY_IQ3_M"},     {28, "MOSTLY_IQ2_S"},  {29, "MOSTLY_IQ2_M"},  {30, "MOSTLY_IQ4_XS"},
      {31, "MOSTLY_IQ1_M"},     {32, "MOSTLY_BF16"},   {36, "MOSTLY_TQ1_0"},  {37, "MOSTLY_TQ2_0"},
      {38, "MOSTLY_MXFP4_MOE"}, {39, "MOSTLY_NVFP4"},  {40, "MOSTLY_Q1_0"},   {1024, "GUESSED"}};
  for (const auto& [id, name] : kNames)
    if (id == ft) return name;
  return "";
}

ModelFacts model_facts(const File& f) {
  ModelFacts m;
  m.arch = f.architecture();
  auto geti = [&](const std::string& k) {
    const Value* v = f.find(m.arch + "." + k);
    if (!v) return int64_t(0);
    if (v->is_array()) {  // per-layer arrays: the largest entry
      int64_t mx = 0;
      for (const auto& it : v->items) mx = std::max(mx, it.as_int());
      return mx;
    }
    return v->as_int();
  };
  m.n_layer = int(geti("block_count"));
  m.n_head = int(geti("attention.head_count"));
  m.n_head_kv = int(geti("attention.head_count_kv"));
  if (m.n_head_kv == 0) m.n_head_kv = m.n_head;
  m.n_expert = int(geti("expert_count"));
  return m;
}

TensorOverride parse_override(const std::string& spec) {
  auto eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw UsageError("--tensor-type '" + spec + "': expected REGEX=TYPE, e.g. 'attn_v=Q8_0'");
  TensorOverride o;
  o.pattern = spec.substr(0, eq);
  std::string tn = spec.substr(eq + 1);
  const GgmlType* g = ggml_type_by_name(tn);
  if (!g || !find_format_by_gguf_type(g->id) || g->id == 15 /* Q8_K: activations only */)
    throw UsageError("--tensor-type '" + spec + "': unknown or unsupported type '" + tn + "'");
  o.type = g->id;
  try {
    o.re = std::regex(o.pattern);
  } catch (const std::regex_error& e) {
    throw UsageError("--tensor-type '" + spec + "': bad regular expression: " + e.what());
  }
  return o;
}

std::vector<PlanEntry> plan_tensor_types(std::span<const PlanInput> tensors, const Preset& preset,
                                         const ModelFacts& facts, std::span<const TensorOverride> overrides) {
  State qs{facts, preset.ftype};
  qs.is_70b = facts.arch == "llama" && facts.n_layer == 80 && facts.n_head != facts.n_head_kv;
  for (const auto& t : tensors) {
    Cat c = category(t.name);
    if (attn_v_like(c)) ++qs.n_attn_v;
    if (c == Cat::Output) qs.tied = false;
  }
  // llama.cpp walks tensors ordered by layer number, then name; the counters follow that order.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    if (la != lb) return la < lb;
    return tensors[a].name < tensors[b].name;
  });

  std::vector<PlanEntry> out(tensors.size());
  for (size_t idx : order) {
    const PlanInput& t = tensors[idx];
    PlanEntry& e = out[idx];
    e.quantizable = allows_quantization(t);
    if (!e.quantizable) {
      e.type = t.type;
      continue;
    }
    int nt = preset.default_type;
    for (const auto& o : overrides)
      if (std::regex_search(t.name, o.re)) {
        nt = o.type;
        e.manual = true;
        break;
      }
    if (is_quantized_type(preset.default_type)) {
      if (!e.manual) nt = choose(qs, nt, t, category(t.name));
    }
    if (is_quantized_type(preset.default_type) || e.manual)
      nt = fallback(nt, t.dims.empty() ? 1 : t.dims[0], &e.note, &e.fallback);
    e.type = nt;
  }
  return out;
}

}  // namespace qb::gguf
