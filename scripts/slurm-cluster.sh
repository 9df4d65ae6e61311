#!/usr/bin/env bash
# A real one-node SLURM cluster for tests and local trials: Debian's slurmctld, slurmd and munge,
# run as root in the foreground (no systemd), state under one directory, stopped by their pids.
#
#   scripts/slurm-cluster.sh start STATE_DIR   installs the packages if missing, writes the
#                                              config, starts munged, slurmctld and slurmd, waits
#                                              until the node is idle; prints the env to use
#   scripts/slurm-cluster.sh stop STATE_DIR    stops the daemons it started (by pid) and cleans up
#   scripts/slurm-cluster.sh env STATE_DIR     prints `export SLURM_CONF=…` for sbatch/squeue/scancel
#
# Settings that work on this kind of machine (cgroups are a v1/v2 hybrid, no accounting):
# ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, SelectType=select/cons_tres, one node
# on 127.0.0.1. Needs root (munge and slurmd run as root here).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|env STATE_DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
action="$1"
state="$2"
conf="$state/slurm.conf"

print_env() {
  echo "export SLURM_CONF=$conf"
}

stop_cluster() {
  for name in slurmd slurmctld munged; do
    pidfile="$state/$name.pid"
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

install_if_missing() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && command -v sbatch >/dev/null; then
    return
  fi
  if [[ "$(id -u)" != 0 ]]; then
    echo "slurm-cluster: slurmctld/slurmd/munge are not installed and this is not root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
}

start_cluster() {
  install_if_missing
  mkdir -p "$state"/{spool,ctld,munge,log}
  state="$(cd "$state" && pwd)"
  conf="$state/slurm.conf"
  local host cpus memory
  host="$(hostname -s)"
  cpus="$(nproc)"
  memory="$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10))"

  # munge: a key of our own, its socket and pid under the state dir.
  local munge_key="$state/munge/munge.key"
  [[ -f "$munge_key" ]] || dd if=/dev/urandom of="$munge_key" bs=1024 count=1 status=none
  chmod 700 "$state/munge"
  chmod 400 "$munge_key"
  local socket="$state/munge/munge.socket"
  munged --foreground --force --key-file="$munge_key" --socket="$socket" \
    --pid-file="$state/munge/munged.pid" --log-file="$state/log/munged.log" \
    --seed-file="$state/munge/munge.seed" >/dev/null 2>&1 &
  echo $! >"$state/munged.pid"

  cat >"$conf" <<EOF
ClusterName=llem-test
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
AuthInfo=socket=$socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.daemon.pid
SlurmdPidFile=$state/slurmd.daemon.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldPort=$((6817 + RANDOM % 500))
SlurmdPort=$((7400 + RANDOM % 500))
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=30
KillWait=5
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF

  # Wait for munge before the daemons that need it.
  for _ in $(seq 1 50); do [[ -S "$socket" ]] && break; sleep 0.1; done
  SLURM_CONF="$conf" slurmctld -D -f "$conf" >/dev/null 2>&1 &
  echo $! >"$state/slurmctld.pid"
  SLURM_CONF="$conf" slurmd -D -f "$conf" >/dev/null 2>&1 &
  echo $! >"$state/slurmd.pid"

  # Ready when the node is idle (or mixed) for the controller.
  for _ in $(seq 1 300); do
    if SLURM_CONF="$conf" sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix)'; then
      print_env
      return
    fi
    sleep 0.2
  done
  echo "slurm-cluster: the node did not become idle in 60 s; logs in $state/log" >&2
  stop_cluster
  exit 1
}

case "$action" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  env) print_env ;;
  *) usage ;;
esac
