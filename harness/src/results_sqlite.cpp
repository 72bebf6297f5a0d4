// The results database on SQLite (libsqlite3), the embedded default: WAL and a busy timeout, so
// shards on one machine can write one file at once; every write transaction is IMMEDIATE.
#include <sqlite3.h>

#include <fmt/format.h>

#include "results_sql.h"

namespace qb {
namespace {

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(const std::string& path) : url_("sqlite:" + path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw ResultsError(fmt::format("{}: cannot open: {}", url_, why));
    }
    sqlite3_busy_timeout(db_, 30000);
    exec_script("PRAGMA journal_mode=WAL");
    // A commit survives a crash of qbench without an fsync per cell (WAL + NORMAL); power loss may
    // drop the last commits, which the fsynced journal still holds (`run --resume --results`).
    exec_script("PRAGMA synchronous=NORMAL");
    exec_script("PRAGMA foreign_keys=ON");
  }
  ~SqliteConnection() override { sqlite3_close(db_); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  const SqlDialect& dialect() const override {
    static const SqlDialect d{"INTEGER PRIMARY KEY", "INTEGER", "REAL"};
    return d;
  }

  std::vector<SqlRow> query(const std::string& sql, const std::vector<SqlArg>& args) override {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) fail("prepare");
    struct Finalize {
      sqlite3_stmt* s;
      ~Finalize() { sqlite3_finalize(s); }
    } finalize{st};
    for (size_t i = 0; i < args.size(); ++i) {
      const int k = int(i + 1);
      if (const auto* v = std::get_if<int64_t>(&args[i]))
        sqlite3_bind_int64(st, k, *v);
      else if (const auto* d = std::get_if<double>(&args[i]))
        sqlite3_bind_double(st, k, *d);
      else {
        const auto& s = std::get<std::string>(args[i]);
        sqlite3_bind_text(st, k, s.c_str(), int(s.size()), SQLITE_TRANSIENT);
      }
    }
    std::vector<SqlRow> rows;
    for (;;) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) fail("step");
      SqlRow row(size_t(sqlite3_column_count(st)));
      for (size_t c = 0; c < row.size(); ++c)
        if (const auto* p = sqlite3_column_text(st, int(c))) row[c] = reinterpret_cast<const char*>(p);
      rows.push_back(std::move(row));
    }
  }

  void exec_script(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string why = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw ResultsError(fmt::format("{}: {}", url_, why));
    }
  }

  // IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so two writers never
  // deadlock upgrading a read lock; it also serialises migrations.
  void begin(bool /*schema*/) override { exec_script("BEGIN IMMEDIATE"); }
  bool reconnect() override { return false; }  // never thrown SqlRetryable: a file has no connection

 private:
  [[noreturn]] void fail(const char* what) const {
    throw ResultsError(fmt::format("{}: {}: {}", url_, what, sqlite3_errmsg(db_)));
  }
  std::string url_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<ResultsStore> open_sqlite_results(const std::string& path) {
  return make_sql_store(std::make_unique<SqliteConnection>(path), "sqlite:" + path);
}

}  // namespace qb
