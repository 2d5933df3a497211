#!/usr/bin/env bash
# Data-parallel training over MPI: seconds per epoch of the main example's model with its global
# batch of 128 split over 2 ranks (one thread each), against one process at 1 and 2 threads and
# against PyTorch's DistributedDataParallel (gloo) on 2 processes, in the same run; and what the
# gradient averaging costs: backward's wait at its end with the reductions overlapped (default),
# with a 256 KiB first bucket (more overlap), all after backward (none), in deterministic mode,
# and with Open MPI's shared-memory transport copying through its own buffers instead of the
# kernel's cross-process copy (CMA), which is slow on virtual machines.
# Each round ends with where our two CPUs were during it (placement.sh: near, one die; far, two).
#   benchmarks/run_distributed.sh [build-dir] [repeats]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/placement.sh"
# Root (containers, CI) needs Open MPI's consent; users running as themselves do not.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ddp="$build/benchmarks/bench_ddp_epoch"
for ((i = 1; i <= repeats; ++i)); do
  echo "# round $i"
  before=$(core_handover_ns "$build")
  "$ddp" --threads 1 --epochs 5
  "$ddp" --threads 2 --epochs 5
  mpirun -np 2 "$ddp" --epochs 5
  mpirun -np 2 "$ddp" --epochs 5 --first-bucket-kb 256
  mpirun -np 2 "$ddp" --epochs 5 --overlap 0
  mpirun -np 2 "$ddp" --epochs 5 --deterministic 1
  mpirun -np 2 --mca btl_vader_single_copy_mechanism none "$ddp" --epochs 5 | sed 's/^ddp_\([a-z_]*\)\t/ddp_\1\tno-CMA /'
  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/bench_ddp_epoch_torch.py" --ranks 2 --epochs 5 2>/dev/null \
    | sed 's/^ddp_epoch_seconds\t/ddp_epoch_seconds\tpytorch_gloo /'
  after=$(core_handover_ns "$build")
  echo "# round $i: our two CPUs ${before} ns apart before, ${after} ns after: $(placement_label "$before" "$after")"
done
