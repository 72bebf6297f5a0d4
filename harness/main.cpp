// qbench: measure quantized formats and kernels on this machine, report, recommend.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include "qb/command.h"
#include "qb/formats.h"

int main(int argc, char** argv) {
  CLI::App app{"qbench: benchmark and evaluate quantized model formats and kernels on this machine"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_flag("-q,--quiet", qb::globals().quiet, "No progress output or summary tables");
  auto& cmds = qb::command_registry();
  std::stable_sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  for (auto& c : cmds) c.add(app);
  // An unknown first word is a mistyped command: say so and name the commands.
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (auto& c : cmds) {
      known = known || c.name == argv[1];
      names += (names.empty() ? "" : ", ") + c.name;
    }
    if (!known) {
      std::fprintf(stderr, "qbench: unknown command '%s'; valid commands: %s\n", argv[1], names.c_str());
      return qb::kExitBadInput;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "qbench: %s\n", e.what());
    std::fprintf(stderr, "Run with --help for usage.\n");
    return qb::kExitBadInput;
  } catch (const qb::UsageError& e) {
    std::fprintf(stderr, "qbench: %s\n", e.what());
    return qb::kExitBadInput;
  } catch (const qb::FormatError& e) {
    std::fprintf(stderr, "qbench: %s\n", e.what());
    return qb::kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qbench: error: %s\n", e.what());
    return qb::kExitBadInput;
  }
  return qb::exit_code();
}
