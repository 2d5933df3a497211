#!/usr/bin/env bash
# Data-parallel training over MPI: seconds per epoch of the main example's model with its global
# batch of 128 split over 2 ranks (one thread each), against one process at 1 and 2 threads and
# against PyTorch's DistributedDataParallel (gloo) on 2 processes, in the same run; and what the
# gradient averaging costs: backward's wait at its end with the reductions overlapped (default),
# with a 256 KiB first bucket (more overlap), all after backward (none), and in deterministic mode.
#   benchmarks/run_distributed.sh [build-dir] [repeats]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
# Root (containers, CI) needs Open MPI's consent; users running as themselves do not.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ddp="$build/benchmarks/bench_ddp_epoch"
for ((i = 1; i <= repeats; ++i)); do
  echo "# round $i"
  "$ddp" --threads 1
  "$ddp" --threads 2
  mpirun -np 2 "$ddp"
  mpirun -np 2 "$ddp" --first-bucket-kb 256
  mpirun -np 2 "$ddp" --overlap 0
  mpirun -np 2 "$ddp" --deterministic 1
  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/bench_ddp_epoch_torch.py" --ranks 2 2>/dev/null \
    | sed 's/^ddp_epoch_seconds\t/ddp_epoch_seconds\tpytorch_gloo /'
done
