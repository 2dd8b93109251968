#!/usr/bin/env bash
# Stops the one-node cluster started by scripts/slurm-up.sh (slurmd, slurmctld; munged stays).
set -uo pipefail
STATE=${SLURM_STATE:-/var/spool/pipe-slurm}
for f in "$STATE/slurmd.pid" "$STATE/slurmctld.pid"; do
  [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
done
echo "slurm-down: stopped"
