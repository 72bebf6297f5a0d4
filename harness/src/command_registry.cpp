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
RenderingSet& rendering_set() {
  static RenderingSet s;
  return s;
}
}  // namespace

void register_renderings(RenderingSet set) { rendering_set() = std::move(set); }
std::vector<Rendering> renderings_of(const nlohmann::json& report) {
  return rendering_set() ? rendering_set()(report) : std::vector<Rendering>{};
}

}  // namespace qb
