#!/usr/bin/env bash
# `qbench fleet slurm --submit` on a live single-node Slurm cluster: munged, slurmctld and slurmd
# started here (as root; a temp dir holds their config, key, sockets, state and logs; ports are free
# ones found now, so nothing clashes with a cluster or a second test on the host; every daemon is
# stopped on every exit path). A 4-shard --quick study is submitted as a job array plus a dependent
# merge job, and the merged report must hold every planned cell once, from all four shards, with
# Slurm's own accounting of the jobs agreeing. Exit 77: skipped (not root, or no Slurm/munge).
#   tests/fleet_slurm_live_test.sh build/qbench
set -euo pipefail
QB=$(realpath "${1:?usage: fleet_slurm_live_test.sh QBENCH}")
# shellcheck source=tests/test_lib.sh
. "$(dirname "$0")/test_lib.sh"
[ "$(id -u)" = 0 ] || skip "slurmd must run as root to start jobs (run the test as root)"
for b in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
  command -v "$b" >/dev/null || PATH=$PATH:/usr/sbin command -v "$b" >/dev/null ||
    skip "$b not found (apt-get install slurm-wlm munge)"
done
export PATH=$PATH:/usr/sbin

d=$(mktemp -d /tmp/qbench-slurm.XXXXXX)
chmod 755 "$d"
pids=()
cleanup() {
  [ -f "$d/slurm.conf" ] && SLURM_CONF=$d/slurm.conf scancel --quiet --full -u root 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # Jobs' processes (none expected) would keep files open: kill what runs from this study.
  pkill -9 -f "$d/study" 2>/dev/null || true
  if [ "${QB_KEEP_SLURM_DIR:-0}" = 1 ]; then echo "kept $d"; else rm -rf "$d"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
dump_logs() {
  for f in "$d"/munged.log "$d"/slurmctld.log "$d"/slurmd.log "$d"/study/slurm-*.out; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
  done
  return 0
}

# Free TCP ports for slurmctld and slurmd (the kernel picks; closed again before the daemons bind).
read -r ctld_port slurmd_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')

# munge: its own key, socket and files; munged checks that they belong to its user and are private.
mkdir -m 700 "$d/munge"
mungekey --create --keyfile="$d/munge/munge.key" >/dev/null 2>&1 ||
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$d/munge/munge.key"
munged --force --foreground --socket="$d/munge/socket" --key-file="$d/munge/munge.key" \
  --pid-file="$d/munge/munged.pid" --seed-file="$d/munge/seed" --log-file="$d/munged.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$d/munge/socket" ] && break; sleep 0.1; done
[ -S "$d/munge/socket" ] || { dump_logs; fail "munged did not start"; }

# The node as slurmd sees it (CPUs, sockets, memory), under this host's short name.
host=$(hostname -s)
node=$(slurmd -C | head -n 1) # NodeName=... CPUs=... RealMemory=...
[[ $node == NodeName=* ]] || fail "slurmd -C: $node"
mkdir "$d/state" "$d/spool" "$d/study"
cat >"$d/slurm.conf" <<EOF
ClusterName=qbenchtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$d/jobcomp.txt
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=600
NodeName=$host ${node#* } NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=qbench Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$d/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >"$d/slurmctld.stdout" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$d/slurmd.stdout" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 100); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    up=1
    break
  fi
  sleep 0.2
done
[ $up = 1 ] || { sinfo -N 2>&1 || true; dump_logs; fail "the node did not come up idle"; }
echo "[${SECONDS} s] cluster up: slurmctld :$ctld_port, slurmd :$slurmd_port, node $host"

# The study: 4 shards of a --quick quant-error study (4 cells), then the merge, through sbatch.
"$QB" fleet slurm --shards 4 --out "$d/study" --results "sqlite:$d/study/results.sqlite" --time 00:10:00 --submit \
  -- --suites quant-error --formats Q8_0 --quick --no-fsync >"$d/submit.log" 2>&1 ||
  { cat "$d/submit.log"; dump_logs; fail "fleet slurm --submit"; }
cat "$d/submit.log"
merge_job=$(sed -n 's/.*merge: job \([0-9]*\).*/\1/p' "$d/submit.log")
[ -n "$merge_job" ] || fail "no merge job id in: $(cat "$d/submit.log")"

# Wait for the queue to drain (every job finished, successfully or not).
for _ in $(seq 600); do
  [ -z "$(squeue -h -o %i)" ] && break
  sleep 0.5
done
[ -z "$(squeue -h -o %i)" ] || { squeue; dump_logs; fail "jobs still queued after 300 s"; }
echo "[${SECONDS} s] queue drained"

# Slurm's own record (the job completion log): the 4 array tasks and the merge COMPLETED; each task
# had the whole node (--exclusive: all its CPUs, no two tasks at once) and the merge started only
# after the last task ended (afterok).
python3 - "$d/jobcomp.txt" "$(nproc)" <<'EOF' || { dump_logs; fail "job completion log"; }
import sys
from datetime import datetime
jobs = []
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    jobs.append(f)
t = lambda s: datetime.fromisoformat(s)
tasks = sorted((j for j in jobs if j["Name"] == "qbench-shards"), key=lambda j: int(j["ArrayTaskId"]))
merge = [j for j in jobs if j["Name"] == "qbench-merge"]
assert len(jobs) == 5 and len(merge) == 1, f"{len(jobs)} jobs: {[j['Name'] for j in jobs]}"
assert [int(j["ArrayTaskId"]) for j in tasks] == [0, 1, 2, 3], [j.get("ArrayTaskId") for j in tasks]
for j in jobs:
    assert j["JobState"] == "COMPLETED" and j["ExitCode"] == "0:0", f"job {j['JobId']}: {j['JobState']} {j['ExitCode']}"
for j in tasks:
    assert int(j["ProcCnt"]) == int(sys.argv[2]), f"task {j['ArrayTaskId']} had {j['ProcCnt']} of {sys.argv[2]} CPUs"
spans = sorted((t(j["StartTime"]), t(j["EndTime"])) for j in tasks)
for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
    assert s1 >= e0, f"two exclusive tasks overlapped: {s0}-{e0} and {s1}-{e1}"
last = max(e for _, e in spans)
assert t(merge[0]["StartTime"]) >= last, f"merge started {merge[0]['StartTime']} before the last task ended {last}"
print(f"job completion log: 4 tasks one after another on {sys.argv[2]} CPUs each, merge after the last")
EOF

# The merged report against the shards' journals, read independently.
python3 - "$d/study" <<'EOF' || { dump_logs; fail "merged report"; }
import json, sys
d = sys.argv[1]
journal = {}
for i in range(4):
    with open(f"{d}/s{i}/journal.jsonl") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    head = lines[0]
    cells = [r for r in lines[1:] if "suite" in r]
    for r in cells:
        key = (r["suite"], r["format"], r["workload"])
        assert key not in journal, f"cell {key} in shards {journal[key]} and {i}"
        journal[key] = i
rep = json.load(open(f"{d}/merged/report.json"))
got = {}
for r in rep["results"]:
    key = (r["suite"], r["format"], r["workload"])
    assert key not in got, f"cell {key} twice in the merged report"
    got[key] = r["shard"]
assert got == journal, f"merged {sorted(got.items())} != journals {sorted(journal.items())}"
assert len(got) == rep["merged"]["plan_cells"] == 4, (len(got), rep["merged"])
assert sorted(set(got.values())) == [0, 1, 2, 3], sorted(set(got.values()))
print(f"merged report: {len(got)} cells, each once, from shards {sorted(set(got.values()))}")
EOF

# A study whose shards fail: the merge must never start (its dependency can no longer be met).
"$QB" fleet slurm --shards 2 --out "$d/bad" --submit -- --suites quant-error --formats NO_SUCH_FORMAT --quick \
  >"$d/bad.log" 2>&1 || { cat "$d/bad.log"; fail "fleet slurm --submit (failing study)"; }
bad_merge=$(sed -n 's/.*merge: job \([0-9]*\).*/\1/p' "$d/bad.log")
reason=
for _ in $(seq 120); do
  reason=$(squeue -h -j "$bad_merge" -o %r 2>/dev/null || true)
  [ "$reason" = DependencyNeverSatisfied ] && break
  sleep 0.5
done
[ "$reason" = DependencyNeverSatisfied ] || { squeue; dump_logs; fail "merge after failed shards: reason '$reason'"; }
[ ! -e "$d/bad/merged" ] || fail "the merge of a failed study ran"
scancel "$bad_merge"
echo "failed shards: merge job $bad_merge held (DependencyNeverSatisfied), never run"
echo "PASS: 4 array tasks + merge job COMPLETED under slurmctld/slurmd in ${SECONDS} s"
