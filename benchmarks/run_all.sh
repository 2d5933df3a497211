#!/usr/bin/env bash
# Runs xgrad's benchmarks and their peers (PyTorch from /usr/bin/python3, LibTorch C++) in one
# run, and prints each case with the ratio xgrad / peer (above 1: xgrad is faster for GB/s and
# GFLOP/s, slower for microseconds).
#   benchmarks/run_all.sh [build-dir]
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)

echo "# kernels (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
for t in 1 2; do
  "$build/benchmarks/bench_kernels" --threads "$t" >> "$out/xgrad.tsv"
  # PyTorch's matmul runs on OpenBLAS, which ignores torch.set_num_threads: pin it as well.
  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
    /usr/bin/python3 "$here/bench_kernels_torch.py" --threads "$t" >> "$out/torch.tsv"
done
echo "# matmul with OpenBLAS free to pick its AVX-512 kernels (env -u OPENBLAS_CORETYPE)"
for t in 1 2; do
  env -u OPENBLAS_CORETYPE "$build/benchmarks/bench_kernels" --threads "$t" | grep '^matmul' | sed 's/^matmul/matmul_unpinned/' >> "$out/xgrad.tsv"
  env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" /usr/bin/python3 "$here/bench_kernels_torch.py" --threads "$t" | grep '^matmul' | sed 's/^matmul/matmul_unpinned/' >> "$out/torch.tsv"
done

echo "# xgrad's blocked GEMM against OpenBLAS on the training step's products, one thread"
"$build/benchmarks/bench_gemm"
env -u OPENBLAS_CORETYPE "$build/benchmarks/bench_gemm"

echo "# per-op overhead"
"$build/benchmarks/bench_overhead" >> "$out/xgrad.tsv"
source "$here/peers.sh"
build_libtorch_peers "$build"
"$build/libtorch_peer/overhead_libtorch" >> "$out/torch.tsv"

/usr/bin/python3 - "$out/xgrad.tsv" "$out/torch.tsv" <<'PY'
import sys
def load(path):
    rows = {}
    for line in open(path):
        name, threads, value, unit = line.split("\t")
        rows[(name, threads)] = (float(value), unit.strip())
    return rows
mine, peer = load(sys.argv[1]), load(sys.argv[2])
print(f"{'case':34} {'thr':>3} {'xgrad':>10} {'peer':>10} {'unit':>8} {'ratio':>7}")
for key, (value, unit) in mine.items():
    other = peer.get(key)
    if other is None:
        print(f"{key[0]:34} {key[1]:>3} {value:10.2f} {'-':>10} {unit:>8}")
        continue
    ratio = value / other[0] if unit != "us" else other[0] / value
    print(f"{key[0]:34} {key[1]:>3} {value:10.2f} {other[0]:10.2f} {unit:>8} {ratio:7.2f}")
print("ratio: how many times faster xgrad is than the peer (PyTorch for kernels, LibTorch for overhead)")
PY
rm -rf "$out"

echo "# threads on a shared machine: the main example's epoch, quiet and beside a busy process"
"$here/run_threads.sh" "$build"

echo "# end to end: the main example's model, seconds per epoch"
"$here/run_mlp.sh" "$build"

echo "# the lecture's CNN (s per 100 steps) and LSTM (ms per step), with peak memory"
"$here/run_models.sh" "$build"

echo "# the Hallmarks of Cancer programs' training epoch against PyTorch (docs/hoc.md)"
"$here/run_hoc.sh" "$build" 1

echo "# data-parallel training over MPI: the main example's model on 2 ranks (docs/distributed.md)"
"$here/run_distributed.sh" "$build" 1
