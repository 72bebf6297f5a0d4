// The error every layer throws for bad input (a bad file, field or argument). Kept apart from
// qb/command.h so that the GGUF reader and the model runtime do not depend on the command layer:
// main prints "qbench: <what>" and exits with 2.
#pragma once
#include <stdexcept>

namespace qb {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace qb
