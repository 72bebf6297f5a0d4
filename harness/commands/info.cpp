// `qbench topology`, `qbench list formats|backends|suites`, `qbench version`.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "qb/command.h"
#include "qb/counters.h"
#include "qb/formats.h"
#include "qb/matmul.h"
#include "qb/peers.h"
#include "qb/report.h"
#include "qb/suite.h"
#include "qb/thread_pool.h"
#include "qb/topology.h"

namespace qb {
namespace {

void print(const nlohmann::json& j) { std::printf("%s\n", j.dump(2).c_str()); }

void add_topology(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("topology", "Show this machine: packages, cores, PUs, caches, ISA, memory, counters");
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([json] {
    const Topology& t = machine_topology();
    const auto& papi = papi_availability();
    if (*json) {
      nlohmann::json j = t;
      j["counters"] = {{"available", papi.available}, {"hw_counters", papi.hw_counters}, {"events", papi.events}};
      if (!papi.available) j["counters"]["reason"] = papi.reason;
      j["energy"] = energy_probe();
      nlohmann::json plans;
      for (Placement p : all_placements())
        for (int n = 1; n <= t.pus; ++n) plans[placement_name(p)][std::to_string(n)] = placement_pus(t, p, n);
      j["placements"] = plans;
      print(j);
      return;
    }
    std::printf("%s", topology_tree(t).c_str());
    std::printf("  Counters: %s\n", papi.available
                                        ? fmt::format("PAPI, events {}", fmt::join(papi.events, ", ")).c_str()
                                        : ("unavailable: " + papi.reason).c_str());
    auto e = energy_probe();
    std::printf("  Energy: %s\n",
                e["available"].get<bool>() ? "RAPL" : ("unavailable: " + e["reason"].get<std::string>()).c_str());
    std::printf("  Placements:\n");
    for (Placement p : all_placements()) {
      std::printf("    %-13s", placement_name(p));
      for (int n = 1; n <= t.pus; ++n) {
        auto pus = placement_pus(t, p, n);
        std::printf(" %d:[%s]", n, pus.empty() ? "-" : fmt::format("{}", fmt::join(pus, ",")).c_str());
      }
      std::printf("\n");
    }
  });
}

void add_list(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto what = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("list", "List formats, backends or suites");
  cmd->add_option("what", *what, "formats | backends | suites")
      ->required()
      ->check(CLI::IsMember({"formats", "backends", "suites"}));
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([json, what] {
    nlohmann::json j = nlohmann::json::array();
    if (*what == "formats") {
      for (const auto& t : all_formats())
        j.push_back({{"name", t.name},
                     {"gguf_type", t.gguf_type < 0 ? nlohmann::json(nullptr) : nlohmann::json(t.gguf_type)},
                     {"family", family_name(t.family)},
                     {"block_size", t.block_size},
                     {"block_bytes", t.block_bytes},
                     {"row_header_bytes", t.row_header_bytes},
                     {"bits_per_weight", t.bits_per_weight()},
                     {"activation", traits(t.act).name},
                     {"has_codec", t.quantize != nullptr && t.dequantize_row != nullptr}});
      if (*json) return print(j);
      std::printf("%-10s %5s %-8s %6s %6s %6s %8s %-6s\n", "format", "gguf", "family", "block", "bytes", "header",
                  "bits/w", "act");
      for (const auto& f : j)
        std::printf("%-10s %5s %-8s %6d %6d %6d %8.4f %-6s%s\n", f["name"].get<std::string>().c_str(),
                    f["gguf_type"].is_null() ? "-" : std::to_string(f["gguf_type"].get<int>()).c_str(),
                    f["family"].get<std::string>().c_str(), f["block_size"].get<int>(), f["block_bytes"].get<int>(),
                    f["row_header_bytes"].get<int>(), f["bits_per_weight"].get<double>(),
                    f["activation"].get<std::string>().c_str(), f["has_codec"].get<bool>() ? "" : "  (no codec)");
    } else if (*what == "backends") {
      for (const auto& b : own_backends()) {
        std::vector<std::string> fmts;
        for (const auto& t : all_formats())
          if (find_kernel(t.id, b.id)) fmts.emplace_back(t.name);
        nlohmann::json e = {{"name", b.name}, {"kind", "qbench"}, {"available", b.available}, {"formats", fmts}};
        if (!b.available) e["missing"] = b.missing;
        j.push_back(e);
      }
      for (const auto& p : peer_backends()) {
        std::vector<std::string> fmts;
        for (auto f : p.formats) fmts.emplace_back(traits(f).name);
        nlohmann::json e = {{"name", p.name}, {"kind", p.kind}, {"available", p.available}, {"formats", fmts}};
        if (!p.available) e["missing"] = p.missing;
        if (p.kind == "framework") {
          e["mode"] = p.mode;
          e["version"] = p.version;
          if (p.available && p.variants) {  // the framework's own variants and the qbench format of each
            nlohmann::json native = nlohmann::json::object();
            try {
              for (const auto& v : p.variants()) {
                native[v.name] = std::string(traits(v.format).name);
                if (std::find(fmts.begin(), fmts.end(), traits(v.format).name) == fmts.end())
                  fmts.emplace_back(traits(v.format).name);
              }
              e["formats"] = fmts;
              e["native_formats"] = native;
            } catch (const std::exception& ex) {
              e["available"] = false;
              e["missing"] = ex.what();
            }
          } else if (p.native_name) {
            nlohmann::json native = nlohmann::json::object();
            for (auto f : p.formats) native[std::string(traits(f).name)] = p.native_name(f);
            e["native_formats"] = native;
          }
        }
        j.push_back(e);
      }
      if (*json) return print(j);
      for (const auto& b : j) {
        std::printf("%-9s %-9s %-11s %s\n", b["name"].get<std::string>().c_str(), b["kind"].get<std::string>().c_str(),
                    b["available"].get<bool>() ? "available" : "unavailable",
                    b["available"].get<bool>()
                        ? fmt::format("{}", fmt::join(b["formats"].get<std::vector<std::string>>(), " ")).c_str()
                        : b["missing"].get<std::string>().c_str());
        if (b.contains("version") && !b["version"].get<std::string>().empty())
          std::printf("%-9s %-9s %s, %s\n", "", "", b["mode"].get<std::string>().c_str(),
                      b["version"].get<std::string>().c_str());
      }
    } else {
      for (Suite* s : all_suites()) j.push_back({{"name", s->name()}, {"description", s->description()}});
      if (*json) return print(j);
      for (const auto& s : j)
        std::printf("%-12s %s\n", s["name"].get<std::string>().c_str(), s["description"].get<std::string>().c_str());
    }
  });
}

void add_version(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("version", "Show qbench's version, git revision and build");
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([json] {
    auto b = qbench_build_info();
    if (*json) return print(b);
    std::printf("qbench %s (git %s, %s, %s)\n", b["version"].get<std::string>().c_str(),
                b["git_revision"].get<std::string>().c_str(), b["compiler"].get<std::string>().c_str(),
                b["build_type"].get<std::string>().c_str());
  });
}

}  // namespace
QB_REGISTER_COMMAND(topology, "topology", 20, add_topology);
QB_REGISTER_COMMAND(list, "list", 30, add_list);
QB_REGISTER_COMMAND(version, "version", 90, add_version);
}  // namespace qb
