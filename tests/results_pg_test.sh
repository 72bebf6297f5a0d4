#!/usr/bin/env bash
# The results database on PostgreSQL, for real: a throw-away cluster (initdb in a temp dir, a unix
# socket there and no TCP, so no port can clash; stopped on every exit path) and qbench writing into
# it: 4 shards at once, a writer killed with SIGKILL and resumed, a server restart mid-run; then
# `history` and `regressions` read it. Every count is checked against the runs' journals, read
# independently with psql and python3. Exit 77: skipped (no server binaries, or qbench without libpq).
#   tests/results_pg_test.sh build/qbench
set -euo pipefail
QB=$(realpath "${1:?usage: results_pg_test.sh QBENCH}")
# shellcheck source=tests/test_lib.sh
. "$(dirname "$0")/test_lib.sh"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && [ -x "$bin/psql" ] ||
  skip "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
if out=$("$QB" history --results postgresql:///none --metric snr_db 2>&1) || true; [[ $out == *"built without libpq"* ]]; then
  skip "$out"
fi

# initdb refuses root: the cluster belongs to the postgres user (Debian's postgresql package makes
# it) or nobody; as another user, the cluster is that user's own.
as=()
if [ "$(id -u)" = 0 ]; then
  owner=postgres
  id -u postgres >/dev/null 2>&1 || owner=nobody
  as=(runuser -u "$owner" --)
fi

d=$(mktemp -d /tmp/qbench-pg.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -f "$d/data/postmaster.pid" ] && "${as[@]}" "$bin/pg_ctl" stop -D "$d/data" -m immediate >/dev/null 2>&1 || true
  rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir "$d/data" "$d/out"
[ ${#as[@]} = 0 ] || chown "$owner" "$d" "$d/data"

"${as[@]}" "$bin/initdb" -D "$d/data" -U qbench -A trust -E UTF8 --locale=C --no-sync >"$d/initdb.log" 2>&1 ||
  { cat "$d/initdb.log"; fail "initdb"; }
# The cluster listens on $d/.s.PGSQL.5432 only; POSIX shared memory may be missing in a chroot.
pg_opts="-c listen_addresses='' -c unix_socket_directories='$d' -c port=5432 -c dynamic_shared_memory_type=mmap"
pg_opts+=" -c max_connections=20 -c shared_buffers=16MB"
"${as[@]}" "$bin/pg_ctl" start -D "$d/data" -w -t 60 -l "$d/server.log" -o "$pg_opts" >/dev/null ||
  { cat "$d/server.log"; fail "pg_ctl start"; }
echo "[${SECONDS} s] cluster started"

# The connection comes from libpq's environment, as a fleet's credentials would (PGPASSWORD or
# PGPASSFILE for a password; trust here).
export PGHOST=$d PGPORT=5432 PGUSER=qbench PGDATABASE=postgres
"$bin/psql" -XqA -c "CREATE DATABASE qbench" >/dev/null
export PGDATABASE=qbench
URL=postgresql:///qbench
sql() { "$bin/psql" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# A password in the URL is refused (it would show on command lines and in logs) and not echoed.
if out=$("$QB" history --results "postgresql://qbench:s3cret@/qbench" --metric snr_db 2>&1); then
  fail "a password in the URL was accepted"
fi
[[ $out == *PGPASSWORD* && $out != *s3cret* ]] || fail "password URL: $out"

# The cells of the run directories given ("suite/format/.../placement samples" per line, sorted),
# from their journals; and the same from the database for the run that stores directory $1.
journal_cells() {
  python3 - "$@" <<'EOF'
import json, sys
rows = []
for d in sys.argv[1:]:
    with open(d + "/journal.jsonl") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    for r in lines[1:]:
        if "suite" in r:
            key = "/".join(str(r[k]) for k in ("suite", "format", "backend", "workload", "threads", "placement"))
            rows.append(f"{key} {len(r.get('samples') or [])}")
for r in sorted(set(rows)):
    print(r)
EOF
}
db_cells() {  # the same lines for the cells of run id $1
  sql "SELECT c.cell_key || ' ' || (SELECT count(*) FROM samples s WHERE s.cell_id = c.id) FROM cells c
       WHERE c.run_id = $1" | LC_ALL=C sort
}
newest_run() { sql "SELECT run_id FROM cells ORDER BY id DESC LIMIT 1"; }
wait_cells() {  # until the database holds $1 more cells than $2 (a background writer's first cells)
  local want=$1 before=$2
  for _ in $(seq 600); do
    [ "$(sql 'SELECT count(*) FROM cells')" -ge $((before + want)) ] && return 0
    sleep 0.05
  done
  fail "no cell reached the database in 30 s"
}

# 1. Four shards at once, then their merge stored again: every cell once.
sel=(--suites quant-error --formats Q8_0,Q4_0 --quick --no-fsync)
for i in 0 1 2 3; do
  "$QB" --quiet run "${sel[@]}" --shard $i/4 --out "$d/out/a$i" --results "$URL" >"$d/a$i.log" 2>&1 &
  pids+=($!)
done
for i in 0 1 2 3; do wait "${pids[$i]}" || { cat "$d/a$i.log"; fail "shard $i/4 failed"; }; done
pids=()
"$QB" --quiet merge "$d"/out/a{0,1,2,3} --out "$d/out/amerged" --results "$URL" >"$d/am.log" 2>&1 ||
  { cat "$d/am.log"; fail "merge"; }
expect=$(journal_cells "$d"/out/a{0,1,2,3})
got=$(db_cells "$(newest_run)")
[ "$expect" = "$got" ] || fail "4 shards: database cells differ from the journals:"$'\n'"$expect"$'\n'"--"$'\n'"$got"
shards_n=$(echo "$expect" | wc -l)
[ "$shards_n" = 8 ] || fail "4 shards: $shards_n cells, expected 8 (2 formats x 4 distributions)"
[ "$(sql 'SELECT count(*) FROM runs')" = 1 ] || fail "4 shards of one plan are one run"
[ "$(sql 'SELECT count(*) FROM cells')" = 8 ] || fail "the merge added cells"
echo "[${SECONDS} s] 4 concurrent shard writers + merge: $shards_n cells in the database, $shards_n in the journals, 1 run"

# 2. A writer killed (SIGKILL) mid-run: the cells it committed are whole; --resume completes it.
# Killed right after its first cell (compute's fp32_fma): the second (int8_dot) takes about a
# second, so the kill lands mid-run. (Killed after two cells it raced the four quant-error cells,
# about 50 ms in all, and lost sometimes: 'the writer finished before it was killed'.)
sel=(--suites compute,quant-error --formats Q8_0 --threads 1 --quick --no-fsync)
before=$(sql 'SELECT count(*) FROM cells')
"$QB" run "${sel[@]}" --out "$d/out/b" --results "$URL" >"$d/b.log" 2>&1 &
pids=($!)
wait_cells 1 "$before"
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
pids=()
killed_n=$(($(sql 'SELECT count(*) FROM cells') - before))
# Each stored cell has all its samples, as its journal line has them (the journal is written first).
run=$(newest_run)
got=$(db_cells "$run")
journal_cells "$d/out/b" >"$d/b.journal"
while read -r line; do
  grep -qxF "$line" "$d/b.journal" || fail "killed writer: half-written or unknown cell: $line"
done <<<"$got"
"$QB" run --resume "$d/out/b" --results "$URL" >"$d/b2.log" 2>&1 || { cat "$d/b2.log"; fail "resume"; }
expect=$(journal_cells "$d/out/b")
got=$(db_cells "$run")
[ "$expect" = "$got" ] || fail "killed + resumed: database differs from the journal:"$'\n'"$expect"$'\n'"--"$'\n'"$got"
killed_total=$(echo "$expect" | wc -l)
samples=$(echo "$expect" | awk '{s += $2} END {print s}')
[ "$samples" -gt 0 ] || fail "the killed writer's study has no timed cells (samples)"
[ "$killed_n" -lt "$killed_total" ] || fail "the writer finished before it was killed"
echo "[${SECONDS} s] killed writer: $killed_n of $killed_total cells committed before SIGKILL all whole;" \
  "after --resume $killed_total cells, $samples samples, each cell once"

# 3. A server restart mid-run: the writer reconnects and retries the cell; nothing lost or doubled.
# Restarted right after the first cell, while compute's int8_dot (about a second) runs, for the
# same reason as above: quant-error cells alone take milliseconds each.
sel=(--suites compute,quant-error --formats Q4_1,Q5_0,Q5_1 --threads 1 --quick --no-fsync)
before=$(sql 'SELECT count(*) FROM cells')
"$QB" run "${sel[@]}" --out "$d/out/c" --results "$URL" >"$d/c.log" 2>&1 &
pids=($!)
wait_cells 1 "$before"
at_restart=$(($(sql 'SELECT count(*) FROM cells') - before))
run=$(newest_run)
"${as[@]}" "$bin/pg_ctl" restart -D "$d/data" -m fast -w -t 60 -l "$d/server.log" -o "$pg_opts" >/dev/null ||
  fail "pg_ctl restart"
wait "${pids[0]}" || { cat "$d/c.log"; fail "the writer failed across the server restart"; }
pids=()
grep -q "retrying" "$d/c.log" || { cat "$d/c.log"; fail "the writer did not see the restart (finished before it?)"; }
# ... and went on cell by cell (no database warning: not the end-of-run re-sync).
if grep -q "warning: results database" "$d/c.log"; then
  cat "$d/c.log"
  fail "the writer gave up on the database after the restart"
fi
expect=$(journal_cells "$d/out/c")
got=$(db_cells "$run")
[ "$expect" = "$got" ] || fail "server restart: database differs from the journal:"$'\n'"$expect"$'\n'"--"$'\n'"$got"
echo "[${SECONDS} s] server restart after $at_restart cells: the writer reconnected; $(echo "$got" | wc -l) cells stored," \
  "$(echo "$expect" | wc -l) journaled, each once"

# 4. history and regressions read the PostgreSQL store: every Q8_0 snr_db value of runs 1 and 2.
want=$(sql "SELECT count(*) FROM cells WHERE format = 'Q8_0' AND suite = 'quant-error' AND status = 'ok'")
"$QB" history --results "$URL" --metric snr_db --where format=Q8_0,suite=quant-error >"$d/h.log" 2>&1 ||
  { cat "$d/h.log"; fail "history"; }
points=$(grep -c '^  ' "$d/h.log" || true)
[ "$points" = "$want" ] && [ "$want" = 8 ] || { cat "$d/h.log"; fail "history: $points points, database has $want"; }
"$QB" regressions --results "$URL" --metric snr_db >"$d/r.log" 2>&1 || { cat "$d/r.log"; fail "regressions"; }
echo "[${SECONDS} s] history: $points points (2 runs x 4 distributions of Q8_0); regressions: exit 0"
echo "database after ${SECONDS} s: $(sql 'SELECT count(*) FROM runs') runs, $(sql 'SELECT count(*) FROM cells') cells," \
  "$(sql 'SELECT count(*) FROM samples') samples"
