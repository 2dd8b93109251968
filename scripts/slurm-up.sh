#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (Debian's slurm-wlm + munge),
# for pipe's Slurm tests and benchmarks. Idempotent: a running cluster is left alone.
#   scripts/slurm-up.sh          start (installs the packages if apt-get is available and they are missing)
#   scripts/slurm-down.sh        stop
# Needs root (munged runs as user munge, slurmctld/slurmd as root). State lives
# under $SLURM_STATE (default /var/spool/pipe-slurm); the config is /etc/slurm/slurm.conf.
set -euo pipefail

STATE=${SLURM_STATE:-/var/spool/pipe-slurm}
HOST=$(hostname -s)
CPUS=${SLURM_CPUS:-2}

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm-up: installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null
fi

if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
  echo "slurm-up: cluster already up ($(sinfo -h -o '%N %T %c cpus'))"
  exit 0
fi

# The node name must resolve.
getent hosts "$HOST" >/dev/null || echo "127.0.1.1 $HOST" >> /etc/hosts

# munge: a key only root and munge can read, its own run folder.
mkdir -p /etc/munge /var/log/munge /var/lib/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge /run/munge
chmod 0700 /etc/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
if ! pgrep -u munge -x munged >/dev/null; then
  runuser -u munge -- /usr/sbin/munged
fi

mkdir -p "$STATE/ctld" "$STATE/d" "$STATE/log" /etc/slurm
cat > /etc/slurm/slurm.conf <<CONF
# Written by pipe's scripts/slurm-up.sh: a one-node cluster for tests.
ClusterName=pipe
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Quick turnarounds for tests: the controller checks limits every few seconds,
# a job over its --time gets SIGTERM and, KillWait seconds later, SIGKILL.
KillWait=2
OverTimeLimit=0
MinJobAge=300
InactiveLimit=0
SchedulerParameters=sched_interval=1
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$HOST CPUs=$CPUS RealMemory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 )) State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
# cons_tres wants a (possibly empty) gres.conf / cgroup.conf is not used with task/none.
: > /etc/slurm/gres.conf

pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd

for _ in $(seq 1 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
    echo "slurm-up: cluster up ($(sinfo -h -o '%N %T %c cpus'))"
    exit 0
  fi
  sleep 1
done
echo "slurm-up: the node did not become idle; see $STATE/log/" >&2
sinfo >&2 || true
tail -20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
exit 1
