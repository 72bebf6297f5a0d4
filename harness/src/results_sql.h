// The SQL engines of the results database (SQLite, PostgreSQL) behind one connection interface, so
// the schema, its migrations and every statement are written once (results_sql.cpp) and an engine
// only runs them (results_sqlite.cpp, results_pg.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "qb/results_db.h"

namespace qb {

using SqlArg = std::variant<int64_t, double, std::string>;
using SqlRow = std::vector<std::string>;  // every column as text; NULL is ""

// Thrown by a connection when retrying the whole transaction may succeed: the connection was lost
// (a server restart) or the server aborted it (serialization failure, deadlock).
struct SqlRetryable : ResultsError {
  using ResultsError::ResultsError;
};

// The SQL dialects differ only in these column types (the migrations name them as {id}, {int},
// {real}); SQLite's expansions are the text of the released migrations.
struct SqlDialect {
  const char* id;    // an integer primary key that the engine numbers
  const char* int_;  // a 64-bit integer
  const char* real;  // a double
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual const SqlDialect& dialect() const = 0;
  // One statement with `?` placeholders; the rows it returns.
  virtual std::vector<SqlRow> query(const std::string& sql, const std::vector<SqlArg>& args = {}) = 0;
  // Several statements without arguments (a migration).
  virtual void exec_script(const std::string& sql) = 0;
  // Starts a transaction that writes (SQLite: takes the write lock up front); `schema` also
  // serialises it against other connections migrating the schema at the same time.
  virtual void begin(bool schema) = 0;
  // After a SqlRetryable: connects again (false: this engine cannot, or the server is not back).
  virtual bool reconnect() = 0;
};

// The ResultsStore over a connection; migrates the schema on open.
std::unique_ptr<ResultsStore> make_sql_store(std::unique_ptr<SqlConnection> c, const std::string& url);

}  // namespace qb
