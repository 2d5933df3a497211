#!/usr/bin/env bash
# End-to-end: seconds per epoch and peak memory of the main example's model, xgrad beside
# PyTorch and LibTorch in the same run, at 1 and 2 threads. The peers are run with their
# spinning threads calmed (OMP_WAIT_POLICY=PASSIVE), also with glibc's page-fault cost tamed
# (GLIBC_TUNABLES), and also with OpenBLAS free to use its AVX-512 kernels (the machines pin it
# to AVX2 with OPENBLAS_CORETYPE=Haswell); the best of those is compared: beat them at their best.
#   benchmarks/run_mlp.sh [build-dir]
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/peers.sh"
build_libtorch_peers "$build"

run() {  # name threads command...
  local name=$1 threads=$2
  shift 2
  "$@" --threads "$threads" --epochs 3 2>/dev/null | sed "s/^/$name\t/"
}
{
  for t in 1 2; do
    run xgrad "$t" "$build/benchmarks/bench_mlp_epoch"
    for env_kind in passive tamed unpinned; do
      unset_pin=() extra=()
      [[ $env_kind != passive ]] && extra=(GLIBC_TUNABLES="$PEER_MALLOC_TUNABLES")
      [[ $env_kind == unpinned ]] && unset_pin=(-u OPENBLAS_CORETYPE)
      run "libtorch_$env_kind" "$t" env "${unset_pin[@]}" OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" "${extra[@]}" \
        "$build/libtorch_peer/mlp_epoch_libtorch"
      run "pytorch_$env_kind" "$t" env "${unset_pin[@]}" OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" "${extra[@]}" \
        /usr/bin/python3 "$here/bench_mlp_epoch_torch.py"
    done
  done
} > "$build/mlp_results.tsv"

/usr/bin/python3 - "$build/mlp_results.tsv" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
data = {}
for who, case, threads, value, unit in rows:
    data[(who, case, threads)] = float(value)
print(f"{'threads':>7} {'':10} {'s/epoch':>8} {'peak MB':>8}")
for t in ("1", "2"):
    variants = ("passive", "tamed", "unpinned")
    for who in ["xgrad"] + [f"{peer}_{v}" for peer in ("libtorch", "pytorch") for v in variants]:
        print(f"{t:>7} {who:18} {data[(who, 'mlp_epoch_seconds', t)]:8.3f} {data[(who, 'mlp_peak_rss_mb', t)]:8.1f}")
    mine = data[("xgrad", "mlp_epoch_seconds", t)]
    for peer in ("libtorch", "pytorch"):
        best = min(data[(f"{peer}_{v}", "mlp_epoch_seconds", t)] for v in variants)
        mem = min(data[(f"{peer}_{v}", "mlp_peak_rss_mb", t)] for v in variants)
        print(f"{t:>7} xgrad / best {peer}: time {mine / best:.2f}x, peak memory {data[('xgrad', 'mlp_peak_rss_mb', t)] / mem:.2f}x")
PY
