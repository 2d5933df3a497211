#!/usr/bin/env bash
# Threads on a shared machine: the main example's epoch at 1 and 2 threads, on a quiet machine and
# beside a "noisy neighbour" (a second process keeping one core busy), for xgrad, LibTorch and
# PyTorch in one run. The sides are alternated (A B C A B C ...) and medians reported. The peers
# run at their best on a shared machine: OMP_WAIT_POLICY=PASSIVE (their OpenMP threads would
# otherwise spin), OpenBLAS pinned to the same thread count, and glibc's malloc tunables that
# spare them page faults. xgrad runs with no variable at all.
#   benchmarks/run_threads.sh [build-dir] [repeats]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
out="$build/threads_results.tsv"
source "$here/peers.sh"
build_libtorch_peers "$build"

neighbour=""
start_neighbour() { bash -c 'while :; do :; done' & neighbour=$!; }
stop_neighbour() { [[ -n $neighbour ]] && kill "$neighbour" 2>/dev/null; wait "$neighbour" 2>/dev/null || true; neighbour=""; }
trap stop_neighbour EXIT

run() {  # label load threads command...
  local label=$1 load=$2 threads=$3
  shift 3
  "$@" --threads "$threads" --epochs 2 2>/dev/null | grep mlp_epoch_seconds | cut -f3 | sed "s/^/$label\t$load\t$threads\t/"
}
: > "$out"
for load in quiet neighbour; do
  [[ $load == neighbour ]] && start_neighbour
  for ((r = 0; r < repeats; ++r)); do
    for t in 1 2; do
      run xgrad "$load" "$t" "$build/benchmarks/bench_mlp_epoch" >> "$out"
      run libtorch "$load" "$t" env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
        GLIBC_TUNABLES="$PEER_MALLOC_TUNABLES" "$build/libtorch_peer/mlp_epoch_libtorch" >> "$out"
      run pytorch "$load" "$t" env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
        GLIBC_TUNABLES="$PEER_MALLOC_TUNABLES" /usr/bin/python3 "$here/bench_mlp_epoch_torch.py" >> "$out"
    done
  done
  stop_neighbour
done

/usr/bin/python3 - "$out" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, load, threads, seconds = line.split()
    runs.setdefault((who, load, threads), []).append(float(seconds))
med = {k: statistics.median(v) for k, v in runs.items()}
span = {k: (min(v), max(v)) for k, v in runs.items()}
print(f"{'load':10} {'threads':>7} {'xgrad s':>9} {'LibTorch s':>11} {'PyTorch s':>10} {'xgrad/best peer':>16}")
for load in ("quiet", "neighbour"):
    for t in ("1", "2"):
        x, l, p = (med[(w, load, t)] for w in ("xgrad", "libtorch", "pytorch"))
        print(f"{load:10} {t:>7} {x:9.3f} {l:11.3f} {p:10.3f} {x / min(l, p):15.2f}x")
for load in ("quiet", "neighbour"):
    one, two = med[("xgrad", load, "1")], med[("xgrad", load, "2")]
    lo, hi = span[("xgrad", load, "2")]
    print(f"xgrad {load}: 2 threads are {one / two:.2f}x as fast as 1 (2-thread runs {lo:.3f}-{hi:.3f} s)")
PY
