#!/usr/bin/env bash
# Shared by dist_train.sh and dist_test.sh: tools/dist_launch.sh SCRIPT NUM_PROCESSES [script args]
# Starts NUM_PROCESSES copies of tools/SCRIPT with torch.distributed.run and
# --launcher pytorch: one per GPU with NCCL, or CPU processes with gloo on a
# machine without CUDA (tools/train.py and tools/test.py set that up).
set -e
SCRIPT=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
HERE="$(cd "$(dirname "$0")" && pwd)"

PYTHONPATH="$HERE/..":$PYTHONPATH \
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$HERE/$SCRIPT" \
    "${@:3}" \
    --launcher pytorch
