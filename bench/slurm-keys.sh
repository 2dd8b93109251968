#!/bin/bash
# Runs a small variant of the default pipeline (size 64, 3 steps, 24 scenes) once locally and once with
# `--executor slurm` (start the cluster first: scripts/slurm-up.sh), each in a fresh clone of this repo's
# HEAD, and compares the stage keys of the two pipeline.lock files. Exits 0 when they are equal.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
for mode in local slurm; do
  d="$work/$mode"
  git clone -q "$repo" "$d" && ln -s "$repo/node_modules" "$d/node_modules"
  sed -i -e 's/^  size: 128 .*/  size: 64/' -e 's/^  steps: [0-9]* .*/  steps: 3/' -e 's/count: 320.*/count: 24/' "$d/pipeline.yaml"
  start=$(date +%s)
  (cd "$d" && node bin/pipe.js run --executor "$mode" --json > run.jsonl 2> run.err)
  echo "$mode: exit $?, $(( $(date +%s) - start )) s"
done
keys() { grep -E '^  [^ ].*:$|^    key:' "$1"; }
if diff <(keys "$work/local/pipeline.lock") <(keys "$work/slurm/pipeline.lock"); then
  echo "all $(grep -c '^    key:' "$work/local/pipeline.lock") keys equal"
else
  echo "keys differ (runs kept in $work)"; exit 1
fi
rm -rf "$work"
