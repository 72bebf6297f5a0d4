// CLI subcommands register themselves, so a new command is one file (harness/ or reports/).
#pragma once
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>
#include "qb/errors.h"

namespace CLI {
class App;
}

namespace qb {

// Exit codes of every command: 0 ok, 1 a verdict failed (compare/qualify), 2 bad input.
enum ExitCode { kExitOk = 0, kExitVerdict = 1, kExitBadInput = 2 };

// add(app) adds the subcommand to app and sets its callback; the callback stores its exit code
// through set_exit_code().
struct CommandDef {
  std::string name;
  int order;
  std::function<void(CLI::App& app)> add;
};
void register_command(CommandDef def);
std::vector<CommandDef>& command_registry();
void set_exit_code(int code);
int exit_code();

// Options shared by every command.
struct GlobalOptions {
  bool quiet = false;  // --quiet: no progress, no summary tables
};
GlobalOptions& globals();

#define QB_REGISTER_COMMAND(ident, name, order, fn)  \
  static const bool qb_cmd_registered_##ident = [] { \
    ::qb::register_command({name, order, fn});       \
    return true;                                     \
  }()

}  // namespace qb
