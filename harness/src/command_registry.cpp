#include <algorithm>
#include <vector>

#include "qb/command.h"
#include "qb/report.h"

namespace qb {

namespace {
int g_exit_code = 0;
}

std::vector<CommandDef>& command_registry() {
  static std::vector<CommandDef> r;
  return r;
}

void register_command(CommandDef def) { command_registry().push_back(std::move(def)); }
GlobalOptions& globals() {
  static GlobalOptions g;
  return g;
}
void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

namespace {
std::vector<Renderer>& renderers() {
  static std::vector<Renderer> r;
  return r;
}
}  // namespace

void register_renderer(Renderer r) { renderers().push_back(std::move(r)); }
const std::vector<Renderer>& all_renderers() { return renderers(); }

}  // namespace qb
