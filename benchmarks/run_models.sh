#!/usr/bin/env bash
# The lecture's CNN (seconds per 100 training steps) and LSTM (milliseconds per training step, one
# layer and two bidirectional layers) for xgrad, LibTorch and PyTorch, and the HoC tutorial's
# Transformer encoder (milliseconds per training step) for xgrad and PyTorch, in one run at 1 and
# 2 threads, with each program's peak resident memory. The sides are alternated (A B C A B C ...)
# and medians reported. The peers run at their best: OMP_WAIT_POLICY=PASSIVE, OpenBLAS pinned to
# the same thread count, glibc's malloc tunables that spare them page faults. Each repeat's 2-thread
# rows are taken between two probes of how far apart our two CPUs are (placement.sh), printed
# below the table: near (one die) or far (two) changes what 2 threads buy.
#   benchmarks/run_models.sh [build-dir] [repeats]
set -euo pipefail
build=${1:-build}
repeats=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
out="$build/models_results.tsv"
source "$here/peers.sh"
source "$here/placement.sh"
build_libtorch_peers "$build"
placements="$build/models_placement.txt"

run() {  # label threads command...
  local label=$1 threads=$2
  shift 2
  "$@" --threads "$threads" 2>/dev/null | sed "s/^/$label\t/"
}
peer() {  # threads command...: a peer's environment
  local threads=$1
  shift
  env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" GLIBC_TUNABLES="$PEER_MALLOC_TUNABLES" "$@"
}
: > "$out"
: > "$placements"
for ((r = 0; r < repeats; ++r)); do
  for t in 1 2; do
    [[ $t == 2 ]] && before=$(core_handover_ns "$build")
    run xgrad "$t" "$build/benchmarks/bench_cnn_steps" >> "$out"
    run libtorch "$t" peer "$t" "$build/libtorch_peer/cnn_steps_libtorch" >> "$out"
    run pytorch "$t" peer "$t" /usr/bin/python3 "$here/bench_cnn_steps_torch.py" >> "$out"
    run xgrad "$t" "$build/benchmarks/bench_lstm_step" >> "$out"
    run libtorch "$t" peer "$t" "$build/libtorch_peer/lstm_step_libtorch" >> "$out"
    run pytorch "$t" peer "$t" /usr/bin/python3 "$here/bench_lstm_step_torch.py" >> "$out"
    run xgrad "$t" "$build/benchmarks/bench_transformer_step" >> "$out"
    run pytorch "$t" peer "$t" /usr/bin/python3 "$here/bench_transformer_step_torch.py" >> "$out"
  done
  after=$(core_handover_ns "$build")
  echo "repeat $((r + 1)): ${before} ns before, ${after} ns after: $(placement_label "$before" "$after")" >> "$placements"
done

/usr/bin/python3 - "$out" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, case, threads, value, unit = line.split()
    runs.setdefault((case, threads), {}).setdefault(who, []).append(float(value))
print(f"{'case':28} {'threads':>7} {'xgrad':>9} {'LibTorch':>9} {'PyTorch':>9} {'xgrad/best peer':>16}")
for (case, threads), sides in sorted(runs.items()):
    med = {w: statistics.median(v) for w, v in sides.items()}
    x, l, p = med["xgrad"], med.get("libtorch", float("nan")), med["pytorch"]
    best = min(v for w, v in med.items() if w != "xgrad")
    lo, hi = min(sides["xgrad"]), max(sides["xgrad"])
    print(f"{case:28} {threads:>7} {x:9.2f} {l:9.2f} {p:9.2f} {x / best:15.2f}x   (xgrad {lo:.2f}-{hi:.2f})")
PY
echo "2-thread rows: where our two CPUs were (cache-line hand-over, near under ${PLACEMENT_NEAR_NS} ns)"
cat "$placements"
