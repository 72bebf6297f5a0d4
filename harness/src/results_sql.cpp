// ResultsStore in SQL, once for every engine: the schema and its migrations, the statements, and
// the transaction that each write is (retried whole when the connection was lost, which is safe
// because every write is idempotent).
#include "results_sql.h"

#include <chrono>
#include <cstdio>
#include <thread>
#include <type_traits>

#include <fmt/format.h>

#include "qb/command.h"
#include "qb/shard.h"

namespace qb {
namespace {

// Migration i brings the schema from version i to i + 1; append, never edit (docs/fleet.md). The
// column types that the dialects spell differently are {id}, {int} and {real} (SqlDialect).
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE machines (id {id}, fingerprint_id TEXT NOT NULL UNIQUE, hostname TEXT,
                       cpu_model TEXT, fingerprint TEXT NOT NULL);
CREATE TABLE builds (id {id}, build_id TEXT NOT NULL UNIQUE, version TEXT, git_revision TEXT,
                     compiler TEXT, build_type TEXT, info TEXT NOT NULL);
CREATE TABLE runs (id {id}, run_key TEXT NOT NULL UNIQUE, plan_fingerprint TEXT NOT NULL,
                   created TEXT NOT NULL, build_id {int} NOT NULL REFERENCES builds(id), config TEXT NOT NULL);
CREATE TABLE cells (id {id}, run_id {int} NOT NULL REFERENCES runs(id),
                    cell_key TEXT NOT NULL, machine_id {int} NOT NULL REFERENCES machines(id), shard {int},
                    suite TEXT NOT NULL, format TEXT NOT NULL, backend TEXT NOT NULL, workload TEXT NOT NULL,
                    threads {int} NOT NULL, placement TEXT NOT NULL, status TEXT NOT NULL, valid {int} NOT NULL,
                    metrics TEXT NOT NULL, result TEXT NOT NULL, UNIQUE (run_id, cell_key));
CREATE TABLE samples (cell_id {int} NOT NULL REFERENCES cells(id) ON DELETE CASCADE, seq {int} NOT NULL,
                      seconds {real} NOT NULL, PRIMARY KEY (cell_id, seq));
CREATE INDEX cells_series ON cells (suite, format, backend);
)sql",
};
constexpr int kSchemaVersionDb = int(sizeof kMigrations / sizeof kMigrations[0]);

// How long a write keeps retrying a lost connection (a server restart takes seconds).
constexpr auto kRetryFor = std::chrono::seconds(30);

int64_t to_i64(const std::string& s) { return s.empty() ? 0 : std::stoll(s); }

class SqlStore final : public ResultsStore {
 public:
  SqlStore(std::unique_ptr<SqlConnection> c, const std::string& url) : c_(std::move(c)), url_(url) { migrate(); }

  const std::string& url() const override { return url_; }

  int64_t put_run(const RunRecord& run) override {
    const nlohmann::json& b = run.build;
    const std::string build_id = fingerprint_hex({b.dump()});
    return in_tx(false, [&] {
      q("INSERT INTO builds (build_id, version, git_revision, compiler, build_type, info) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        {build_id, b.value("version", ""), b.value("git_revision", ""), b.value("compiler", ""),
         b.value("build_type", ""), b.dump()});
      q("INSERT INTO runs (run_key, plan_fingerprint, created, build_id, config) "
        "VALUES (?, ?, ?, (SELECT id FROM builds WHERE build_id = ?), ?) ON CONFLICT DO NOTHING",
        {run.run_key, run.plan_fingerprint, run.created, build_id, run.config.dump()});
      return to_i64(q("SELECT id FROM runs WHERE run_key = ?", {run.run_key}).at(0).at(0));
    });
  }

  void put_cell(int64_t run_id, const nlohmann::json& machine, const CellResult& r, int shard) override {
    const std::string mid = fingerprint_hex({machine.dump()});
    nlohmann::json full = r;
    full.erase("samples");  // in their own table
    const std::string result = full.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    in_tx(false, [&] {
      q("INSERT INTO machines (fingerprint_id, hostname, cpu_model, fingerprint) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        {mid, machine.value("hostname", ""),
         machine.contains("topology") ? machine["topology"].value("cpu_model", "") : std::string(), machine.dump()});
      const int64_t cell_id =
          to_i64(q("INSERT INTO cells (run_id, cell_key, machine_id, shard, suite, format, backend, workload, threads, "
                   "placement, status, valid, metrics, result) VALUES (?, ?, (SELECT id FROM machines WHERE "
                   "fingerprint_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, cell_key) DO UPDATE SET "
                   "machine_id = excluded.machine_id, shard = excluded.shard, status = excluded.status, valid = "
                   "excluded.valid, metrics = excluded.metrics, result = excluded.result RETURNING id",
                   {run_id, r.cell.key(), mid, int64_t(shard), r.cell.suite, r.cell.format, r.cell.backend,
                    r.cell.workload, int64_t(r.cell.threads), r.cell.placement, std::string(status_name(r.status)),
                    int64_t(r.valid), r.metrics.dump(), result})
                     .at(0)
                     .at(0));
      q("DELETE FROM samples WHERE cell_id = ?", {cell_id});
      for (size_t i = 0; i < r.samples.size(); ++i)
        q("INSERT INTO samples (cell_id, seq, seconds) VALUES (?, ?, ?)", {cell_id, int64_t(i), r.samples[i]});
      return 0;
    });
  }

  std::vector<SeriesPoint> series(const SeriesQuery& sq) override {
    static const char* const kColumns[] = {"suite", "format", "backend", "workload", "threads", "placement"};
    std::string sql =
        "SELECT runs.created, builds.git_revision, machines.hostname, cells.cell_key, cells.metrics, cells.valid "
        "FROM cells JOIN runs ON runs.id = cells.run_id JOIN builds ON builds.id = runs.build_id "
        "JOIN machines ON machines.id = cells.machine_id WHERE cells.status = 'ok'";
    std::vector<SqlArg> args;
    for (const auto& [k, v] : sq.where) {
      bool known = k == "machine";
      for (const char* col : kColumns) known = known || k == col;
      if (!known)
        throw ResultsError(
            fmt::format("--where: unknown field '{}'; fields: suite, format, backend, workload, "
                        "threads, placement, machine",
                        k));
      if (k == "threads") {  // an integer column: compared as one in every dialect
        try {
          args.push_back(int64_t(std::stoll(v)));
        } catch (const std::exception&) {
          throw ResultsError(fmt::format("--where threads={}: expected a number", v));
        }
      } else {
        args.push_back(v);
      }
      sql += k == "machine" ? " AND machines.hostname = ?" : fmt::format(" AND cells.{} = ?", k);
    }
    if (!sq.since.empty()) {
      sql += " AND runs.created >= ?";
      args.push_back(sq.since);
    }
    sql += " ORDER BY runs.created, runs.id, cells.cell_key";
    std::vector<SeriesPoint> out;
    for (const SqlRow& row : q(sql, args)) {
      const auto m = nlohmann::json::parse(row[4], nullptr, false);
      if (!m.is_object() || !m.contains(sq.metric) || !m[sq.metric].is_number()) continue;
      out.push_back({row[0], row[1], row[2], row[3], m[sq.metric].get<double>(), to_i64(row[5]) != 0});
    }
    return out;
  }

  int64_t count_rows(const std::string& table) override {
    for (const char* t : {"runs", "machines", "builds", "cells", "samples"})
      if (table == t) return to_i64(q(fmt::format("SELECT count(*) FROM {}", t)).at(0).at(0));
    throw ResultsError(fmt::format("{}: no table '{}'", url_, table));
  }

 private:
  std::vector<SqlRow> q(const std::string& sql, const std::vector<SqlArg>& args = {}) { return c_->query(sql, args); }

  // Runs f in one transaction, rolled back unless it commits. A lost connection (SqlRetryable)
  // retries the whole transaction on a new connection for up to kRetryFor: each write is
  // idempotent, so a commit whose reply was lost is harmless to repeat.
  template <class F>
  std::invoke_result_t<F> in_tx(bool schema, F&& f) {
    const auto deadline = std::chrono::steady_clock::now() + kRetryFor;
    for (auto pause = std::chrono::milliseconds(100);; pause = std::min(2 * pause, std::chrono::milliseconds(1000))) {
      try {
        c_->begin(schema);
        auto r = f();
        q("COMMIT");
        return r;
      } catch (const SqlRetryable& e) {
        rollback();
        if (!globals().quiet) std::fprintf(stderr, "qbench: results database: %s; retrying\n", e.what());
        for (;; pause = std::min(2 * pause, std::chrono::milliseconds(1000))) {
          if (std::chrono::steady_clock::now() > deadline)
            throw ResultsError(fmt::format("{} (gave up after {} s)", e.what(), kRetryFor.count()));
          std::this_thread::sleep_for(pause);
          if (c_->reconnect()) break;
        }
      } catch (...) {
        rollback();
        throw;
      }
    }
  }

  void rollback() {
    try {
      q("ROLLBACK");
    } catch (const ResultsError&) {  // not in a transaction, or no connection: nothing to undo
    }
  }

  void migrate() {
    in_tx(true, [&] {
      q("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      const int have = int(to_i64(q("SELECT max(version) FROM schema_version").at(0).at(0)));
      if (have > kSchemaVersionDb)
        throw ResultsError(fmt::format("{}: schema version {} is newer than this qbench's {}: use a newer qbench", url_,
                                       have, kSchemaVersionDb));
      const SqlDialect& d = c_->dialect();
      for (int i = have; i < kSchemaVersionDb; ++i) {
        c_->exec_script(fmt::format(fmt::runtime(kMigrations[i]), fmt::arg("id", d.id), fmt::arg("int", d.int_),
                                    fmt::arg("real", d.real)));
        q("INSERT INTO schema_version (version) VALUES (?)", {int64_t(i + 1)});
      }
      return 0;
    });
  }

  std::unique_ptr<SqlConnection> c_;
  std::string url_;
};

}  // namespace

std::unique_ptr<ResultsStore> make_sql_store(std::unique_ptr<SqlConnection> c, const std::string& url) {
  return std::make_unique<SqlStore>(std::move(c), url);
}

}  // namespace qb
