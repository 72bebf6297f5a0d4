// ResultsStore on SQLite (libsqlite3): the embedded default. WAL and a busy timeout, so
// shards on one machine can write one file at once; every cell is one IMMEDIATE transaction.
#include <sqlite3.h>

#include <fmt/format.h>

#include "qb/results_db.h"
#include "qb/shard.h"

namespace qb {
namespace {

// Migration i brings the schema from version i to i + 1; append, never edit (docs/fleet.md).
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE machines (id INTEGER PRIMARY KEY, fingerprint_id TEXT NOT NULL UNIQUE, hostname TEXT,
                       cpu_model TEXT, fingerprint TEXT NOT NULL);
CREATE TABLE builds (id INTEGER PRIMARY KEY, build_id TEXT NOT NULL UNIQUE, version TEXT, git_revision TEXT,
                     compiler TEXT, build_type TEXT, info TEXT NOT NULL);
CREATE TABLE runs (id INTEGER PRIMARY KEY, run_key TEXT NOT NULL UNIQUE, plan_fingerprint TEXT NOT NULL,
                   created TEXT NOT NULL, build_id INTEGER NOT NULL REFERENCES builds(id), config TEXT NOT NULL);
CREATE TABLE cells (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id),
                    cell_key TEXT NOT NULL, machine_id INTEGER NOT NULL REFERENCES machines(id), shard INTEGER,
                    suite TEXT NOT NULL, format TEXT NOT NULL, backend TEXT NOT NULL, workload TEXT NOT NULL,
                    threads INTEGER NOT NULL, placement TEXT NOT NULL, status TEXT NOT NULL, valid INTEGER NOT NULL,
                    metrics TEXT NOT NULL, result TEXT NOT NULL, UNIQUE (run_id, cell_key));
CREATE TABLE samples (cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
                      seconds REAL NOT NULL, PRIMARY KEY (cell_id, seq));
CREATE INDEX cells_series ON cells (suite, format, backend);
)sql",
};
constexpr int kSchemaVersionDb = int(sizeof kMigrations / sizeof kMigrations[0]);

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql, const std::string& url) : db_(db), url_(url) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.c_str(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(st_, i, v);
    return *this;
  }
  bool step() {  // true: a row is ready
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  int64_t i64(int c) const { return sqlite3_column_int64(st_, c); }
  double f64(int c) const { return sqlite3_column_double(st_, c); }
  std::string text(int c) const {
    const auto* p = sqlite3_column_text(st_, c);
    return p ? reinterpret_cast<const char*>(p) : "";
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw ResultsError(fmt::format("{}: {}: {}", url_, what, sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  std::string url_;
};

class SqliteStore final : public ResultsStore {
 public:
  explicit SqliteStore(const std::string& path) : url_("sqlite:" + path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw ResultsError(fmt::format("{}: cannot open: {}", url_, why));
    }
    sqlite3_busy_timeout(db_, 30000);
    exec("PRAGMA journal_mode=WAL");
    // A commit survives a crash of qbench without an fsync per cell (WAL + NORMAL); power loss may
    // drop the last commits, which the fsynced journal still holds (`run --resume --results`).
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  }
  ~SqliteStore() override { sqlite3_close(db_); }

  const std::string& url() const override { return url_; }

  int64_t put_run(const RunRecord& run) override {
    Tx tx(*this);
    const nlohmann::json& b = run.build;
    const std::string build_id = fingerprint_hex({b.dump()});
    Stmt(db_,
         "INSERT OR IGNORE INTO builds (build_id, version, git_revision, compiler, build_type, info) "
         "VALUES (?, ?, ?, ?, ?, ?)",
         url_)
        .bind(1, build_id)
        .bind(2, b.value("version", ""))
        .bind(3, b.value("git_revision", ""))
        .bind(4, b.value("compiler", ""))
        .bind(5, b.value("build_type", ""))
        .bind(6, b.dump())
        .step();
    Stmt(db_,
         "INSERT OR IGNORE INTO runs (run_key, plan_fingerprint, created, build_id, config) "
         "VALUES (?, ?, ?, (SELECT id FROM builds WHERE build_id = ?), ?)",
         url_)
        .bind(1, run.run_key)
        .bind(2, run.plan_fingerprint)
        .bind(3, run.created)
        .bind(4, build_id)
        .bind(5, run.config.dump())
        .step();
    Stmt q(db_, "SELECT id FROM runs WHERE run_key = ?", url_);
    q.bind(1, run.run_key).step();
    const int64_t id = q.i64(0);
    tx.commit();
    return id;
  }

  void put_cell(int64_t run_id, const nlohmann::json& machine, const CellResult& r, int shard) override {
    Tx tx(*this);
    const std::string mid = fingerprint_hex({machine.dump()});
    Stmt(db_, "INSERT OR IGNORE INTO machines (fingerprint_id, hostname, cpu_model, fingerprint) VALUES (?, ?, ?, ?)",
         url_)
        .bind(1, mid)
        .bind(2, machine.value("hostname", ""))
        .bind(3, machine.contains("topology") ? machine["topology"].value("cpu_model", "") : std::string())
        .bind(4, machine.dump())
        .step();
    Stmt c(db_,
           "INSERT INTO cells (run_id, cell_key, machine_id, shard, suite, format, backend, workload, threads, "
           "placement, status, valid, metrics, result) VALUES (?, ?, (SELECT id FROM machines WHERE fingerprint_id "
           "= ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, cell_key) DO UPDATE SET "
           "machine_id = excluded.machine_id, shard = excluded.shard, status = excluded.status, valid = "
           "excluded.valid, metrics = excluded.metrics, result = excluded.result RETURNING id",
           url_);
    nlohmann::json full = r;
    full.erase("samples");  // in their own table
    c.bind(1, run_id)
        .bind(2, r.cell.key())
        .bind(3, mid)
        .bind(4, int64_t(shard))
        .bind(5, r.cell.suite)
        .bind(6, r.cell.format)
        .bind(7, r.cell.backend)
        .bind(8, r.cell.workload)
        .bind(9, int64_t(r.cell.threads))
        .bind(10, r.cell.placement)
        .bind(11, r.status)
        .bind(12, int64_t(r.valid))
        .bind(13, r.metrics.dump())
        .bind(14, full.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    c.step();
    const int64_t cell_id = c.i64(0);
    c.reset();
    Stmt(db_, "DELETE FROM samples WHERE cell_id = ?", url_).bind(1, cell_id).step();
    Stmt s(db_, "INSERT INTO samples (cell_id, seq, seconds) VALUES (?, ?, ?)", url_);
    for (size_t i = 0; i < r.samples.size(); ++i) {
      s.bind(1, cell_id).bind(2, int64_t(i)).bind(3, r.samples[i]).step();
      s.reset();
    }
    tx.commit();
  }

  std::vector<SeriesPoint> series(const SeriesQuery& q) override {
    static const char* const kColumns[] = {"suite", "format", "backend", "workload", "threads", "placement"};
    std::string sql =
        "SELECT runs.created, builds.git_revision, machines.hostname, cells.cell_key, cells.metrics, cells.valid "
        "FROM cells JOIN runs ON runs.id = cells.run_id JOIN builds ON builds.id = runs.build_id "
        "JOIN machines ON machines.id = cells.machine_id WHERE cells.status = 'ok'";
    std::vector<std::string> binds;
    for (const auto& [k, v] : q.where) {
      bool known = k == "machine";
      for (const char* col : kColumns) known = known || k == col;
      if (!known)
        throw ResultsError(
            fmt::format("--where: unknown field '{}'; fields: suite, format, backend, workload, "
                        "threads, placement, machine",
                        k));
      sql += k == "machine" ? " AND machines.hostname = ?" : fmt::format(" AND cells.{} = ?", k);
      binds.push_back(v);
    }
    if (!q.since.empty()) {
      sql += " AND runs.created >= ?";
      binds.push_back(q.since);
    }
    sql += " ORDER BY runs.created, runs.id, cells.cell_key";
    Stmt st(db_, sql, url_);
    for (size_t i = 0; i < binds.size(); ++i) st.bind(int(i + 1), binds[i]);
    std::vector<SeriesPoint> out;
    while (st.step()) {
      const auto m = nlohmann::json::parse(st.text(4), nullptr, false);
      if (!m.is_object() || !m.contains(q.metric) || !m[q.metric].is_number()) continue;
      out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), m[q.metric].get<double>(), st.i64(5) != 0});
    }
    return out;
  }

  int64_t count_rows(const std::string& table) override {
    for (const char* t : {"runs", "machines", "builds", "cells", "samples"})
      if (table == t) {
        Stmt st(db_, fmt::format("SELECT count(*) FROM {}", t), url_);
        st.step();
        return st.i64(0);
      }
    throw ResultsError(fmt::format("{}: no table '{}'", url_, table));
  }

 private:
  // BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so two writers
  // never deadlock upgrading a read lock. Rolled back unless committed.
  class Tx {
   public:
    explicit Tx(SqliteStore& s) : s_(s) { s_.exec("BEGIN IMMEDIATE"); }
    void commit() {
      s_.exec("COMMIT");
      done_ = true;
    }
    ~Tx() {
      if (!done_) sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }

   private:
    SqliteStore& s_;
    bool done_ = false;
  };

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string why = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw ResultsError(fmt::format("{}: {}", url_, why));
    }
  }

  void migrate() {
    Tx tx(*this);
    exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    Stmt v(db_, "SELECT max(version) FROM schema_version", url_);
    v.step();
    const int have = int(v.i64(0));
    v.reset();
    if (have > kSchemaVersionDb)
      throw ResultsError(fmt::format("{}: schema version {} is newer than this qbench's {}: use a newer qbench", url_,
                                     have, kSchemaVersionDb));
    for (int i = have; i < kSchemaVersionDb; ++i) {
      exec(kMigrations[i]);
      Stmt(db_, "INSERT INTO schema_version (version) VALUES (?)", url_).bind(1, int64_t(i + 1)).step();
    }
    tx.commit();
  }

  std::string url_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<ResultsStore> open_sqlite_results(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace qb
