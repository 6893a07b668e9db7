#!/usr/bin/env bash
# Slurm for real: starts a one-node Slurm of its own (munged, slurmctld and
# slurmd from Debian's packages, run here in the background with a private
# slurm.conf, free ports, state, spool and munge key and socket under a
# temporary directory; never systemd, never /etc/slurm), submits the job array
# of `suite.py --emit slurm` with sbatch and waits for it with squeue. One task
# fails (its run's directory holds a file posprobe did not write): squeue says
# FAILED, its log names the run and says why, the other tasks finish; the
# obstacle removed, `sbatch --array=K` redoes that task alone; summarize then
# counts every run finished, and a second submission of the whole array trains
# nothing (every task's log says the run was finished; no file under runs/
# changes); and a task cancelled mid-run (scancel, as a time limit) leaves its
# run 'interrupted' and says so. Every daemon and job it started is stopped on
# every exit path.
# Skips (exit 77) when not root, when a package is missing, or when a Slurm
# daemon already runs on this host. Usage: slurm_cluster.sh POSPROBE
set -euo pipefail
bin=$1
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "the private Slurm runs its daemons as root (SlurmUser=root); run as root"
for c in munged munge slurmctld slurmd sbatch squeue sinfo scontrol scancel hostname nproc; do
    command -v "$c" >/dev/null ||
        skip "$c is missing (apt-get install slurmctld slurmd slurm-client munge)"
done
# PID is alive and not a zombie (a finished slurmstepd stays one until init reaps it)
running() { local st; st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) && [ "${st%% *}" != Z ]; }
for p in $(grep -lx -e slurmctld -e slurmd -e slurmstepd /proc/[0-9]*/comm 2>/dev/null); do
    p=${p#/proc/}
    p=${p%/comm}
    ! running "$p" || skip "a Slurm daemon already runs on this host ($(cat "/proc/$p/comm") pid $p); this test starts its own only where none runs"
done
# nothing from the caller's environment may point the commands at another Slurm
for v in $(compgen -e); do
    case $v in SLURM_* | SBATCH_* | SQUEUE_* | SINFO_* | SCONTROL_* | SCANCEL_*) unset "$v";; esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/posprobe-slurm-XXXXXX)
chmod 755 "$dir"   # munged wants its socket's directories searchable by all
conf=$dir/slurm.conf
pids=()
# every command reaches the private cluster only, through SLURM_CONF; the
# test's own shell does not carry it, so cleanup can tell our processes apart
sl() { SLURM_CONF=$conf "$@"; }
cleanup() {
    set +e
    [ -e "$dir/ctld.up" ] && sl timeout 10 scancel --quiet --user=root
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
    for p in "${pids[@]}"; do   # our children: 5 s to stop, then SIGKILL; reaped
        for _ in $(seq 50); do running "$p" || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    # what slurmd started (slurmstepd, the job scripts, their runs) carries our
    # private SLURM_CONF in its environment
    for p in $(grep -lzxF "SLURM_CONF=$conf" /proc/[0-9]*/environ 2>/dev/null); do
        p=${p#/proc/}
        kill -9 "${p%/environ}" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
deadline=$((SECONDS + 120))
logs() {
    for f in "$dir"/*.log "$dir"/*/slurm-*.log; do [ -e "$f" ] && { echo "== $f"; tail -n 15 "$f"; }; done
}
fail() { echo "FAIL: $*"; logs; exit 1; }
# waits until COMMAND succeeds, or fails with WHAT when the test's 120 s are up
wait_for() {
    local what=$1
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "timed out waiting for $what"
        sleep 0.3
    done
}

# munge: a key and a munged of our own
mkdir -m 700 "$dir/munge"
mkdir -m 755 "$dir/run" "$dir/state" "$dir/spool"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=128 count=1 status=none
chmod 600 "$dir/munge/munge.key"
sock=$dir/run/munge.sock
munged -F --socket="$sock" --key-file="$dir/munge/munge.key" --pid-file="$dir/run/munged.pid" \
    --seed-file="$dir/munge/seed" --log-file="$dir/munged.log" >> "$dir/munged.log" 2>&1 &
pids+=($!)
munge_up() { munge -S "$sock" -n > /dev/null 2>&1; }
wait_for "munged" munge_up

# two free ports, the node as slurmd will see itself
read -r ctld_port slurmd_port < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
node=$(hostname -s)
cat > "$conf" <<EOF
ClusterName=posprobetest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0,sched_interval=1
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=posprobe Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
# the daemons start directly, not through sl(): $! must be the daemon itself
SLURM_CONF=$conf slurmctld -D -f "$conf" > "$dir/slurmctld.log" 2>&1 &
pids+=($!)
touch "$dir/ctld.up"
SLURM_CONF=$conf slurmd -D -f "$conf" -N "$node" > "$dir/slurmd.log" 2>&1 &
pids+=($!)
node_idle() { [ "$(sl sinfo -h -n "$node" -o %t 2>/dev/null)" = idle ]; }
wait_for "the node to be idle" node_idle

# a tiny suite of 4 runs; the directory of the second is taken by a user's file
. "$root/tests/tiny_suite.sh"
tiny_suite "$dir/tiny.suite" 2 5 40 '[grid main]' 'task = probe' 'encoding = none learned'
res=$dir/res
suite=(/usr/bin/python3 "$root/scripts/suite.py" "$dir/tiny.suite" --posprobe "$bin" --results "$res")
"${suite[@]}" --emit slurm > /dev/null
[ "$(wc -l < "$res/jobs.txt")" = 4 ] || fail "expected 4 jobs"
bad=2
bad_run=$("${suite[@]}" --list | sed -n "${bad}p")
mkdir -p "$res/runs/$bad_run"
echo "my notes" > "$res/runs/$bad_run/notes.txt"

# submits the array (extra sbatch options first) as $job and waits until it has left the queue
submit() {
    job=$(sl sbatch --parsable "$@" "$res/slurm.sh") || fail "sbatch $* failed"
    wait_for "job $job to leave the queue" left_queue
}
# squeue answered, and lists no task of $job as pending, running or completing
left_queue() { local q; q=$(sl squeue -h -j "$job" 2>/dev/null) && [ -z "$q" ]; }
# the state of each task: "INDEX STATE" lines, by index
states() { sl squeue -h -t all -j "$1" -o '%K %T' | sort -n | tr '\n' ' '; }

submit
got=$(states "$job")
[ "$got" = "1 COMPLETED 2 FAILED 3 COMPLETED 4 COMPLETED " ] || fail "first submission: tasks $got"
sl scontrol show job "${job}_$bad" | grep -q 'ExitCode=2:0' || fail "the failed task's exit code is not 2"
log=$res/slurm-${job}_$bad.log
grep -qx "posprobe suite tiny: run $bad_run into $res" "$log" || fail "the failed task's log does not name its run"
grep -qx "posprobe: error: run $bad_run: --out $res/runs/$bad_run holds 'notes.txt', which is not a posprobe run file; not touched (choose another --out)" "$log" ||
    fail "the failed task's log does not say why in one line"
[ "$(cat "$res/runs/$bad_run/notes.txt")" = "my notes" ] || fail "the user's file was touched"
# the tasks whose run is not done are the logs without "[1/1] runs done"
[ "$(grep -L '^\[1/1\] runs done' "$res/slurm-${job}"_*.log)" = "$log" ] || fail "grep -L does not single out the failed task"

# the user moves their file away and resubmits the failed task alone
rm -r "${res:?}/runs/$bad_run"
submit --array="$bad"
[ "$(states "$job")" = "$bad COMPLETED " ] || fail "resubmitted task: $(states "$job")"
grep -q '(0 already finished, 1 now, 0 failed' "$res/slurm-${job}_$bad.log" || fail "the resubmitted task did not train its run"
"$bin" summarize "$res" 2>/dev/null
[ "$(tail -n +2 "$res/runs.csv" | grep -c ',finished,')" = 4 ] || fail "summarize does not see 4 finished runs"

# a second submission of the whole array trains nothing and changes nothing
touch "$dir/before"
sleep 1
submit
[ "$(states "$job")" = "1 COMPLETED 2 COMPLETED 3 COMPLETED 4 COMPLETED " ] || fail "second submission: tasks $(states "$job")"
for k in 1 2 3 4; do
    grep -q '(1 already finished, 0 now, 0 failed, 0 busy' "$res/slurm-${job}_$k.log" || fail "task $k of the second submission did not find its run finished"
done
changed=$(find "$res/runs" -newer "$dir/before")
[ -z "$changed" ] || fail "the second submission changed $changed"

# scancel (as a time limit does) stops a training: SIGTERM, the run is left
# 'interrupted' and the task's log says so
tiny_suite "$dir/long.suite" 1 8 1000000 '[grid main]' 'task = probe' 'encoding = learned'
res=$dir/long
/usr/bin/python3 "$root/scripts/suite.py" "$dir/long.suite" --posprobe "$bin" --results "$res" --emit slurm > /dev/null
job=$(sl sbatch --parsable "$res/slurm.sh") || fail "sbatch failed"
training() { [ -e "$res/runs/"*/config.csv ]; }
wait_for "the long run to start" training
sl scancel "$job"
wait_for "job $job to leave the queue" left_queue
[ "$(states "$job")" = "1 CANCELLED " ] || fail "cancelled task: $(states "$job")"
grep -q "^posprobe suite: run probe-learned-s1-[0-9a-f]* interrupted by a signal (left 'interrupted': the next pass trains it again from scratch)$" \
    "$res/slurm-${job}_1.log" || fail "the cancelled task's log does not say the run was interrupted"
grep -q ',interrupted,' "$res/runs/"*/summary.csv || fail "the cancelled run is not left 'interrupted'"
echo "slurm: a one-node Slurm ran the 4-task array: the failed task said why, was resubmitted alone and finished; summarize counts 4 finished; a second submission trained nothing; a cancelled task left its run 'interrupted'"
