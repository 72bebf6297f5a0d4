// `qbench quantize` / `qbench inspect`: llama.cpp per-tensor rules of the presets, and end-to-end
// runs of the CLI on a synthetic llama-architecture model written with the GGUF writer.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "gguf/presets.h"

namespace fs = std::filesystem;
using namespace qb::gguf;
using json = nlohmann::json;

namespace {

std::string tmp_dir() {
  fs::path d = fs::temp_directory_path() / ("qb_gguf_quant_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d.string();
}

struct CliRun {
  int rc;
  std::string out, err;
};
CliRun run(const std::string& args) {
  const char* q = std::getenv("QBENCH");
  std::string bin = q ? q : std::string(QB_BINARY_DIR) + "/qbench";
  std::string errf = tmp_dir() + "/stderr.txt";
  std::string cmd = "'" + bin + "' " + args + " 2>'" + errf + "'";
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(errf);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  return r;
}

// A small llama-architecture model: n_embd 256, n_ff 512, GQA 8/2 heads, F32 weights.
struct Synth {
  int n_layer = 8, n_embd = 256, n_ff = 512, n_vocab = 320, n_head = 8, n_head_kv = 2;
  std::vector<std::vector<float>> data;
  void write(const std::string& path, bool poison = false, int iq2_tensor = 0) {
    Writer w;
    w.set("general.architecture", Value::str("llama"));
    w.set("general.name", Value::str("synthetic"));
    w.set("llama.context_length", Value::u32(2048));
    w.set("llama.embedding_length", Value::u32(uint32_t(n_embd)));
    w.set("llama.block_count", Value::u32(uint32_t(n_layer)));
    w.set("llama.feed_forward_length", Value::u32(uint32_t(n_ff)));
    w.set("llama.attention.head_count", Value::u32(uint32_t(n_head)));
    w.set("llama.attention.head_count_kv", Value::u32(uint32_t(n_head_kv)));
    w.set("llama.attention.layer_norm_rms_epsilon", Value::f32(1e-5f));
    w.set("llama.rope.dimension_count", Value::u32(uint32_t(n_embd / n_head)));
    w.set("general.file_type", Value::u32(0));
    w.set("tokenizer.ggml.model", Value::str("llama"));
    std::vector<Value> toks;
    for (int i = 0; i < n_vocab; ++i) toks.push_back(Value::str("t" + std::to_string(i)));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::STRING, toks));
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    data.clear();
    data.reserve(200);
    auto add = [&](const std::string& name, std::vector<int64_t> dims) {
      int64_t n = 1;
      for (auto d : dims) n *= d;
      data.emplace_back(size_t(n));
      for (auto& x : data.back()) x = nd(rng);
      if (dims.size() == 1)
        for (auto& x : data.back()) x = 1.0f + x;
      if (poison && name == "blk.3.ffn_up.weight") data.back()[77] = NAN;
      if (iq2_tensor && name == "blk.0.attn_q.weight") {
        w.add_tensor(name, 16, dims, data.back().data());  // IQ2_XXS: 66 bytes / 256 weights < 4 bytes each
        return;
      }
      w.add_tensor(name, 0, dims, data.back().data());
    };
    add("token_embd.weight", {n_embd, n_vocab});
    for (int l = 0; l < n_layer; ++l) {
      std::string p = "blk." + std::to_string(l) + ".";
      add(p + "attn_norm.weight", {n_embd});
      add(p + "attn_q.weight", {n_embd, n_embd});
      add(p + "attn_k.weight", {n_embd, n_embd / n_head * n_head_kv});
      add(p + "attn_v.weight", {n_embd, n_embd / n_head * n_head_kv});
      add(p + "attn_output.weight", {n_embd, n_embd});
      add(p + "ffn_norm.weight", {n_embd});
      add(p + "ffn_gate.weight", {n_embd, n_ff});
      add(p + "ffn_up.weight", {n_embd, n_ff});
      add(p + "ffn_down.weight", {n_ff, n_embd});
    }
    add("output_norm.weight", {n_embd});
    add("output.weight", {n_embd, n_vocab});
    w.write(path);
  }
};

std::map<std::string, std::string> plan_names(const std::vector<PlanInput>& in, const char* preset, const ModelFacts& m,
                                              std::vector<TensorOverride> ov = {}) {
  auto plan = plan_tensor_types(in, *find_preset(preset), m, ov);
  std::map<std::string, std::string> r;
  for (size_t i = 0; i < in.size(); ++i) r[in[i].name] = std::string(ggml_type(plan[i].type)->name);
  return r;
}

std::vector<PlanInput> llama_inputs(int n_layer, int n_embd = 4096, int n_ff = 11008, int vocab = 32000,
                                    bool tied = false) {
  std::vector<PlanInput> v;
  v.push_back({"token_embd.weight", {n_embd, vocab}, 0});
  for (int l = 0; l < n_layer; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    v.push_back({p + "attn_norm.weight", {n_embd}, 0});
    v.push_back({p + "attn_q.weight", {n_embd, n_embd}, 0});
    v.push_back({p + "attn_k.weight", {n_embd, n_embd / 4}, 0});
    v.push_back({p + "attn_v.weight", {n_embd, n_embd / 4}, 0});
    v.push_back({p + "attn_output.weight", {n_embd, n_embd}, 0});
    v.push_back({p + "ffn_gate.weight", {n_embd, n_ff}, 0});
    v.push_back({p + "ffn_up.weight", {n_embd, n_ff}, 0});
    v.push_back({p + "ffn_down.weight", {n_ff, n_embd}, 0});
  }
  v.push_back({"output_norm.weight", {n_embd}, 0});
  if (!tied) v.push_back({"output.weight", {n_embd, vocab}, 0});
  return v;
}

TEST(GgufPresets, AllPresetsKnown) {
  for (const char* p :
       {"F32",  "F16",  "BF16",   "Q8_0",   "Q6_K",   "Q5_K_M", "Q5_K_S", "Q5_1",   "Q5_0",  "Q4_K_M", "Q4_K_S",
        "Q4_1", "Q4_0", "Q3_K_L", "Q3_K_M", "Q3_K_S", "Q2_K",   "IQ4_NL", "IQ4_XS", "TQ2_0", "TQ1_0",  "MXFP4"}) {
    const Preset* pr = find_preset(p);
    ASSERT_NE(pr, nullptr) << p;
    EXPECT_NE(qb::find_format_by_gguf_type(pr->default_type), nullptr) << p;
  }
  EXPECT_EQ(find_preset("q4_k_m")->ftype, 15);
  EXPECT_EQ(find_preset("Q8_0")->ftype, 7);
  EXPECT_EQ(find_preset("BF16")->ftype, 32);
  EXPECT_EQ(find_preset("NOPE"), nullptr);
}

TEST(GgufPresets, Q4KMBumpsAttnVAndFfnDown) {
  ModelFacts m{"llama", 8, 32, 8, 0};
  auto t = plan_names(llama_inputs(8), "Q4_K_M", m);
  // use_more_bits(i, 8): i < 1, i >= 7, (i - 1) % 3 == 2  ->  layers 0, 3, 6, 7
  for (int l = 0; l < 8; ++l) {
    std::string want = (l == 0 || l == 3 || l == 6 || l == 7) ? "Q6_K" : "Q4_K";
    EXPECT_EQ(t["blk." + std::to_string(l) + ".attn_v.weight"], want) << l;
    EXPECT_EQ(t["blk." + std::to_string(l) + ".ffn_down.weight"], want) << l;
    EXPECT_EQ(t["blk." + std::to_string(l) + ".attn_q.weight"], "Q4_K");
    EXPECT_EQ(t["blk." + std::to_string(l) + ".attn_norm.weight"], "F32");
  }
  EXPECT_EQ(t["output.weight"], "Q6_K");
  EXPECT_EQ(t["token_embd.weight"], "Q4_K");
  EXPECT_EQ(t["output_norm.weight"], "F32");
}

TEST(GgufPresets, LayerOrderIsNumericNotLexical) {
  // With 12 layers, "blk.10" sorts before "blk.2" as a string; the counters must follow layer numbers.
  ModelFacts m{"llama", 12, 32, 32, 0};
  auto t = plan_names(llama_inputs(12, 512, 1024, 1000), "Q4_K_M", m);
  // use_more_bits(i, 12): i < 1 || i >= 10 || (i - 1) % 3 == 2 -> 0, 3, 6, 9, 10, 11
  for (int l = 0; l < 12; ++l) {
    bool more = l == 0 || l == 3 || l == 6 || l == 9 || l == 10 || l == 11;
    EXPECT_EQ(t["blk." + std::to_string(l) + ".attn_v.weight"], more ? "Q6_K" : "Q4_K") << l;
  }
}

TEST(GgufPresets, OtherMixes) {
  ModelFacts m{"llama", 8, 32, 8, 0};  // GQA 4
  auto s = plan_names(llama_inputs(8), "Q4_K_S", m);
  for (int l = 0; l < 8; ++l) {
    EXPECT_EQ(s["blk." + std::to_string(l) + ".attn_v.weight"], l < 4 ? "Q5_K" : "Q4_K") << l;
    EXPECT_EQ(s["blk." + std::to_string(l) + ".ffn_down.weight"], l < 1 ? "Q5_K" : "Q4_K") << l;
  }
  auto q3m = plan_names(llama_inputs(8), "Q3_K_M", m);
  EXPECT_EQ(q3m["blk.0.attn_v.weight"], "Q5_K");
  EXPECT_EQ(q3m["blk.2.attn_v.weight"], "Q4_K");
  EXPECT_EQ(q3m["blk.5.attn_output.weight"], "Q4_K");
  EXPECT_EQ(q3m["blk.5.ffn_down.weight"], "Q4_K");
  EXPECT_EQ(q3m["blk.5.ffn_up.weight"], "Q3_K");
  auto q2 = plan_names(llama_inputs(8), "Q2_K", m);
  EXPECT_EQ(q2["blk.1.attn_v.weight"], "Q4_K");  // GQA >= 4
  EXPECT_EQ(q2["blk.1.ffn_down.weight"], "Q3_K");
  EXPECT_EQ(q2["blk.1.attn_output.weight"], "Q3_K");
  EXPECT_EQ(q2["blk.1.attn_q.weight"], "Q2_K");
  auto x = plan_names(llama_inputs(8), "IQ4_XS", m);
  EXPECT_EQ(x["blk.1.attn_v.weight"], "Q5_K");
  EXPECT_EQ(x["blk.0.ffn_down.weight"], "Q5_K");
  EXPECT_EQ(x["blk.1.ffn_down.weight"], "IQ4_XS");
  auto q8 = plan_names(llama_inputs(8), "Q8_0", m);
  EXPECT_EQ(q8["output.weight"], "Q8_0");
  EXPECT_EQ(q8["blk.0.attn_v.weight"], "Q8_0");
  auto q40 = plan_names(llama_inputs(8), "Q4_0", m);
  EXPECT_EQ(q40["output.weight"], "Q6_K");
  EXPECT_EQ(q40["token_embd.weight"], "Q4_0");
  auto f16 = plan_names(llama_inputs(8), "F16", m);
  EXPECT_EQ(f16["output.weight"], "F16");
  EXPECT_EQ(f16["blk.0.attn_norm.weight"], "F32");
  auto tq = plan_names(llama_inputs(8), "TQ1_0", m);
  EXPECT_EQ(tq["token_embd.weight"], "Q4_K");
  EXPECT_EQ(tq["blk.0.ffn_up.weight"], "TQ1_0");
  auto mx = plan_names(llama_inputs(2), "MXFP4", m);  // dense model: no 3-D experts -> Q8_0
  EXPECT_EQ(mx["blk.0.ffn_up.weight"], "Q8_0");
  std::vector<PlanInput> moe = {{"blk.0.ffn_up_exps.weight", {256, 512, 8}, 0}, {"blk.0.attn_q.weight", {256, 256}, 0}};
  auto mxm = plan_names(moe, "MXFP4", ModelFacts{"gpt-oss", 1, 8, 8, 8});
  EXPECT_EQ(mxm["blk.0.ffn_up_exps.weight"], "MXFP4");
  EXPECT_EQ(mxm["blk.0.attn_q.weight"], "Q8_0");
}

TEST(GgufPresets, TiedEmbeddingsAndRowFallback) {
  // Gemma 3 270M shapes: n_embd 640 (not a multiple of 256), tied embeddings.
  ModelFacts m{"gemma3", 2, 4, 1, 0};
  auto in = llama_inputs(2, 640, 2048, 262144, /*tied=*/true);
  auto plan = plan_tensor_types(in, *find_preset("Q4_K_M"), m, {});
  std::map<std::string, const PlanEntry*> p;
  for (size_t i = 0; i < in.size(); ++i) p[in[i].name] = &plan[i];
  EXPECT_EQ(ggml_type(p["token_embd.weight"]->type)->name, "Q8_0");    // output rule: 640 % 256 != 0
  EXPECT_EQ(ggml_type(p["blk.0.attn_q.weight"]->type)->name, "Q5_0");  // Q4_K fallback
  EXPECT_TRUE(p["blk.0.attn_q.weight"]->fallback);
  EXPECT_NE(p["blk.0.attn_q.weight"]->note.find("640"), std::string::npos);
  // use_more_bits(i, 2) holds for layer 1 only
  EXPECT_EQ(ggml_type(p["blk.1.attn_v.weight"]->type)->name, "Q8_0");    // Q6_K bump -> Q8_0 fallback
  EXPECT_EQ(ggml_type(p["blk.0.attn_v.weight"]->type)->name, "Q5_0");    // Q4_K -> Q5_0 fallback
  EXPECT_EQ(ggml_type(p["blk.1.ffn_down.weight"]->type)->name, "Q6_K");  // 2048 columns: no fallback
  EXPECT_EQ(ggml_type(p["blk.0.ffn_down.weight"]->type)->name, "Q4_K");
  auto q40 = plan_names(in, "Q4_0", m);
  EXPECT_EQ(q40["token_embd.weight"], "Q8_0");  // Q6_K then fallback
  EXPECT_EQ(q40["blk.0.attn_q.weight"], "Q4_0");
}

TEST(GgufPresets, TensorTypeOverrides) {
  ModelFacts m{"llama", 8, 32, 8, 0};
  std::vector<TensorOverride> ov = {parse_override("attn_q=Q8_0"), parse_override("blk\\.[0-3]\\.ffn_up=IQ4_NL")};
  auto t = plan_names(llama_inputs(8), "Q4_K_M", m, ov);
  EXPECT_EQ(t["blk.5.attn_q.weight"], "Q8_0");
  EXPECT_EQ(t["blk.2.ffn_up.weight"], "IQ4_NL");
  EXPECT_EQ(t["blk.5.ffn_up.weight"], "Q4_K");
  EXPECT_EQ(t["blk.0.attn_norm.weight"], "F32");  // never quantized, overrides or not
  EXPECT_THROW(parse_override("attn_q"), qb::UsageError);
  EXPECT_THROW(parse_override("attn_q=Q9_9"), qb::UsageError);
  EXPECT_THROW(parse_override("attn_q=IQ2_XXS"), qb::UsageError);  // no qbench encoder
  EXPECT_THROW(parse_override("([=Q8_0"), qb::UsageError);
}

// ---- end to end through the CLI ---------------------------------------------------------------
TEST(GgufQuantizeCli, SyntheticModelQ4KMThenInspect) {
  std::string d = tmp_dir(), in = d + "/synth_f32.gguf", out = d + "/synth_q4km.gguf";
  Synth s;
  s.write(in);
  CliRun r = run("quantize '" + in + "' '" + out + "' --type Q4_K_M --threads 2 --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  json q = json::parse(r.out);
  EXPECT_EQ(q["file_type"], 15);
  EXPECT_LT(q["bits_per_weight_after"].get<double>(), 6.0);
  EXPECT_GT(q["bits_per_weight_after"].get<double>(), 4.5);
  EXPECT_NE(r.err.find("[   1/"), std::string::npos) << "per-tensor progress on stderr";

  CliRun ri = run("inspect '" + out + "' --json");
  ASSERT_EQ(ri.rc, 0) << ri.err;
  json j = json::parse(ri.out);
  EXPECT_EQ(j["summary"]["architecture"], "llama");
  EXPECT_EQ(j["summary"]["file_type"], 15);
  EXPECT_EQ(j["summary"]["file_type_name"], "MOSTLY_Q4_K_M");
  EXPECT_EQ(j["summary"]["quantization_version"], 2);
  EXPECT_EQ(j["summary"]["vocab_size"], 320);
  EXPECT_EQ(j["summary"]["head_count_kv"], 2);
  std::map<std::string, std::string> types;
  for (const auto& t : j["tensors"]) types[t["name"]] = t["type"];
  EXPECT_EQ(types["blk.0.attn_v.weight"], "Q6_K");
  EXPECT_EQ(types["blk.1.attn_v.weight"], "Q4_K");
  EXPECT_EQ(types["blk.7.ffn_down.weight"], "Q6_K");
  EXPECT_EQ(types["output.weight"], "Q6_K");
  EXPECT_EQ(types["blk.0.attn_norm.weight"], "F32");
  EXPECT_TRUE(j["totals_by_type"].contains("Q4_K"));

  // Reported errors match a recomputation from the file; data decodes.
  auto f = File::open(out);
  auto src = File::open(in);
  for (const auto& t : q["tensors"]) {
    if (!t["converted"].get<bool>()) continue;
    const TensorInfo* ti = f->find_tensor(t["name"].get<std::string>());
    const TensorInfo* si = src->find_tensor(ti->name);
    std::vector<float> y(size_t(ti->n_elements()));
    qb::dequantize(ti->format->id, ti->data, y.data(), ti->n_rows(), ti->row_length());
    const float* x = reinterpret_cast<const float*>(si->data);
    double e2 = 0;
    for (size_t k = 0; k < y.size(); ++k) e2 += (double(x[k]) - y[k]) * (double(x[k]) - y[k]);
    EXPECT_NEAR(std::sqrt(e2 / double(y.size())), t["rmse"].get<double>(), 1e-9) << ti->name;
    EXPECT_GT(t["snr_db"].get<double>(), 15.0) << ti->name;
  }

  // Threads do not change the bytes.
  std::string out1 = d + "/synth_q4km_t1.gguf";
  ASSERT_EQ(run("-q quantize '" + in + "' '" + out1 + "' --type Q4_K_M --threads 1").rc, 0);
  auto f1 = File::open(out1);
  ASSERT_EQ(f1->file_size(), f->file_size());
  EXPECT_EQ(std::memcmp(f1->tensors().back().data, f->tensors().back().data, f->tensors().back().nbytes), 0);
  EXPECT_EQ(std::memcmp(f1->find_tensor("blk.3.ffn_down.weight")->data, f->find_tensor("blk.3.ffn_down.weight")->data,
                        f->find_tensor("blk.3.ffn_down.weight")->nbytes),
            0);
}

TEST(GgufQuantizeCli, EveryPresetRunsAndParses) {
  std::string d = tmp_dir(), in = d + "/synth_small.gguf";
  Synth s;
  s.n_layer = 2;
  s.write(in);
  for (const auto& p : presets()) {
    std::string out = d + "/synth_" + std::string(p.name) + ".gguf";
    CliRun r = run("quantize '" + in + "' '" + out + "' --type " + std::string(p.name) + " --json");
    ASSERT_EQ(r.rc, 0) << p.name << ": " << r.err;
    auto f = File::open(out);
    EXPECT_EQ(f->get_int("general.file_type"), p.ftype) << p.name;
    EXPECT_EQ(f->tensors().size(), s.data.size());
    fs::remove(out);
  }
}

TEST(GgufQuantizeCli, RequantizeWarnsAndCopiesSameType) {
  std::string d = tmp_dir(), in = d + "/rq_f32.gguf", mid = d + "/rq_q4km.gguf", out = d + "/rq_q8.gguf",
              same = d + "/rq_same.gguf";
  Synth s;
  s.n_layer = 2;
  s.write(in);
  ASSERT_EQ(run("-q quantize '" + in + "' '" + mid + "' --type Q4_K_M").rc, 0);
  CliRun r = run("quantize '" + mid + "' '" + out + "' --type Q8_0 --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("compounds"), std::string::npos) << r.err;
  CliRun r2 = run("quantize '" + mid + "' '" + same + "' --type Q4_K_M --json");
  ASSERT_EQ(r2.rc, 0) << r2.err;
  json j = json::parse(r2.out);
  EXPECT_EQ(j["converted"], 0);  // same mix: every tensor copied byte for byte
}

TEST(GgufQuantizeCli, FailedConversionLeavesNoOutput) {
  std::string d = tmp_dir(), in = d + "/nan.gguf", out = d + "/nan_out.gguf";
  Synth s;
  s.n_layer = 4;
  s.write(in, /*poison=*/true);
  CliRun r = run("quantize '" + in + "' '" + out + "' --type Q4_0");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("nan.gguf: tensor 'blk.3.ffn_up.weight' (data at byte "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(d))
    EXPECT_EQ(e.path().filename().string().find("nan_out.gguf"), std::string::npos) << e.path();
}

TEST(GgufQuantizeCli, UnsupportedInputTypeInspectedButRefused) {
  std::string d = tmp_dir(), in = d + "/iq2.gguf", out = d + "/iq2_out.gguf";
  Synth s;
  s.n_layer = 2;
  s.write(in, false, /*iq2_tensor=*/1);
  CliRun ri = run("inspect '" + in + "' --json");
  ASSERT_EQ(ri.rc, 0) << ri.err;
  json j = json::parse(ri.out);
  EXPECT_EQ(j["unsupported_types"], json::array({"IQ2_XXS"}));
  CliRun rt = run("inspect '" + in + "'");
  EXPECT_NE(rt.out.find("(unsupported type)"), std::string::npos);
  CliRun r = run("quantize '" + in + "' '" + out + "' --type Q8_0");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("IQ2_XXS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("blk.0.attn_q.weight"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(GgufQuantizeCli, BadArgumentsAndFilesExit2) {
  std::string d = tmp_dir(), in = d + "/args.gguf";
  Synth s;
  s.n_layer = 1;
  s.write(in);
  EXPECT_EQ(run("quantize '" + in + "' '" + d + "/x.gguf' --type Q9_K").rc, 2);
  EXPECT_EQ(run("quantize '" + in + "' '" + d + "/x.gguf' --type Q4_0 --tensor-type 'attn_q'").rc, 2);
  EXPECT_EQ(run("inspect '" + d + "/does_not_exist.gguf'").rc, 2);
  std::ofstream(d + "/junk.gguf") << "this is not a gguf file";
  CliRun r = run("inspect '" + d + "/junk.gguf'");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("junk.gguf: byte 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("magic"), std::string::npos) << r.err;
}

// Removes this process's scratch directory when the test program ends.
struct ScratchCleanup : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("qb_gguf_quant_" + std::to_string(getpid())), ec);
  }
};
[[maybe_unused]] ::testing::Environment* const kScratchCleanup =
    ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

}  // namespace
