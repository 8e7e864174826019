#!/usr/bin/env bash
# Grade a class on a Slurm cluster: one array task per shard, then one job that merges.
#
#   mkdir -p grading && SHARDS=8 sbatch --array=1-8 exercises/grade_slurm.sh submissions/
#   sbatch --dependency=afterok:<array job id> --wrap \
#     ".venv/bin/python -m vgrad_course.grade merge grading/shard-*/grades.csv \
#      --out grading/grades.csv --by-student --format canvas"
#
# Each task grades the submissions of its shard (a stable split by name, --shard i/n) with one
# kernel per core it was given. Run from the repository root after `make setup`. See
# exercises/README.md, "Grading a large class".
#SBATCH --job-name=vgrad-grade
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=02:00:00
#SBATCH --output=grading/slurm-%A_%a.out
set -euo pipefail
submissions="${1:?usage: SHARDS=n sbatch --array=1-n exercises/grade_slurm.sh SUBMISSIONS}"
shards="${SHARDS:?set SHARDS to the length of the array (e.g. SHARDS=8 with --array=1-8)}"
shard="${SLURM_ARRAY_TASK_ID:?run this with sbatch --array=1-$shards}"
mkdir -p "grading/shard-$shard"
.venv/bin/python -m vgrad_course.grade "$submissions" --shard "$shard/$shards" \
  --jobs "${SLURM_CPUS_PER_TASK:-1}" --out "grading/shard-$shard/grades.csv" --no-progress
