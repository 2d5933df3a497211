#!/usr/bin/env bash
# Threads on a shared machine: the main example's epoch at 1 and 2 threads, on a quiet machine and
# beside a "noisy neighbour" (a second process keeping one core busy), for xgrad, LibTorch and
# PyTorch in one run. The sides are alternated (A B C A B C ...) and medians reported. The peers
# run at their best on a shared machine: OMP_WAIT_POLICY=PASSIVE (their OpenMP threads would
# otherwise spin), OpenBLAS pinned to the same thread count, and glibc's malloc tunables that
# spare them page faults. xgrad runs with no variable at all. Every run reports the median of its
# 3 epochs (with 2 epochs that "median" was the slower one, usually the first, with its warm-up).
# Then a placement sweep: xgrad alone, 2 threads then 1, PLACEMENT_RUNS times (default 10), each
# 2-thread run between two probes of how far apart our two cores are (bench_core_handover): on a virtual
# machine the hypervisor moves the vCPUs between cores that share a cache and cores on different
# dies, and the 2-thread speed-up follows it. Runs whose probes both read under NEAR_NS (default
# 120 ns; AMD Zen 5 measured ~60-70 ns within a die, 200-300 ns across) count as "near", both
# above as "far", the others as "mixed".
#   benchmarks/run_threads.sh [build-dir] [repeats]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
placement_runs=${PLACEMENT_RUNS:-10}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/placement.sh"
near_ns=$PLACEMENT_NEAR_NS
out="$build/threads_results.tsv"
for program in bench_mlp_epoch bench_core_handover; do
  [[ -x "$build/benchmarks/$program" ]] || { echo "run_threads.sh: $build/benchmarks/$program is missing (build the benchmarks first)" >&2; exit 1; }
done
source "$here/peers.sh"
build_libtorch_peers "$build"

neighbour=""
start_neighbour() { bash -c 'while :; do :; done' & neighbour=$!; }
stop_neighbour() { [[ -n $neighbour ]] && kill "$neighbour" 2>/dev/null; wait "$neighbour" 2>/dev/null || true; neighbour=""; }
trap stop_neighbour EXIT

run() {  # label load threads command...
  local label=$1 load=$2 threads=$3
  shift 3
  "$@" --threads "$threads" --epochs 3 2>/dev/null | grep mlp_epoch_seconds | cut -f3 | sed "s/^/$label\t$load\t$threads\t/"
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

# A value that cannot be measured is written as nan (one CPU: no probe), never left empty.
handover() { core_handover_ns "$build"; }
epoch() { "$build/benchmarks/bench_mlp_epoch" --threads "$1" --epochs 3 2>/dev/null | awk '$1 == "mlp_epoch_seconds" { v = $3 } END { print (v == "" ? "nan" : v) }'; }
for ((r = 0; r < placement_runs; ++r)); do
  before=$(handover)
  two=$(epoch 2)
  after=$(handover)
  one=$(epoch 1)  # one thread does not depend on where the other core is
  printf 'placement\t%s\t%s\t%s\t%s\n' "$before" "$after" "$two" "$one" >> "$out"
done

/usr/bin/python3 - "$out" "$near_ns" <<'PY'
import statistics, sys
runs, placement = {}, []
for line in open(sys.argv[1]):
    if line.startswith("placement"):
        placement.append([float(x) for x in line.split()[1:]])
        continue
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
near_ns = float(sys.argv[2])
placement = [p for p in placement if len(p) == 4 and not any(v != v for v in p)]  # drop nan rows
if placement:
    # The 1-thread epoch does not depend on placement but moves with the host's load: each
    # 2-thread epoch is compared with the median of all of them, and the pairs are listed too.
    one = statistics.median(p[3] for p in placement)
    print(f"placement sweep, quiet: hand-over before/after (ns), epoch at 2 and 1 threads (s), the pair's ratio")
    for before, after, two, single in sorted(placement, key=lambda p: (max(p[0], p[1]), min(p[0], p[1]))):
        print(f"  {before:5.0f} {after:5.0f}   {two:.3f} {single:.3f}   {single / two:.2f}x")
    groups = (("near", f"< {near_ns:.0f} ns before and after", lambda p: max(p[0], p[1]) < near_ns),
              ("far", f">= {near_ns:.0f} ns before and after", lambda p: min(p[0], p[1]) >= near_ns),
              ("mixed", "moved during the run", lambda p: min(p[0], p[1]) < near_ns <= max(p[0], p[1])))
    for name, meaning, member in groups:
        group = [p for p in placement if member(p)]
        if not group:
            print(f"xgrad quiet, cores {name} ({meaning}): no run")
            continue
        two = statistics.median(p[2] for p in group)
        print(f"xgrad quiet, cores {name} ({meaning}): 2-thread epoch {two:.3f} s (median of {len(group)}, "
              f"{min(p[2] for p in group):.3f}-{max(p[2] for p in group):.3f}), {one / two:.2f}x as fast as the "
              f"sweep's median 1-thread epoch {one:.3f} s")
else:
    print("placement sweep: no measurement (fewer than two CPUs?)")
PY
