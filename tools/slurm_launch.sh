#!/usr/bin/env bash
# Shared by slurm_train.sh and slurm_test.sh:
#   tools/slurm_launch.sh SCRIPT PARTITION JOB_NAME ARGS... (SCRIPT: train.py or test.py)
# One task per GPU (GPUS tasks, GPUS_PER_NODE per node) with --launcher slurm.
# GPUS_PER_NODE=0 runs GPUS CPU tasks (gloo), one per node unless SRUN_ARGS
# says otherwise. CPUS_PER_TASK, SRUN_ARGS; PYTHON selects the interpreter
# (default python).
set -e
SCRIPT=$1
PARTITION=$2
JOB_NAME=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    PER_NODE="--gres=gpu:${GPUS_PER_NODE} --ntasks-per-node=${GPUS_PER_NODE}"
else
    PER_NODE="--ntasks-per-node=1"
fi
# shellcheck disable=SC2086  (PER_NODE and SRUN_ARGS hold several words)
PYTHONPATH="$HERE/..":$PYTHONPATH \
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --ntasks="$GPUS" \
    $PER_NODE \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$HERE/$SCRIPT" "${@:4}" --launcher=slurm
