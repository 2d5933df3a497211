# Sourced by the benchmark scripts: how far apart our two CPUs are, read next to every figure
# taken on 2 threads or 2 processes. On a virtual machine the hypervisor moves the vCPUs between
# cores that share a cache (AMD Zen 5: ~60-70 ns to hand a cache line over) and cores on different
# dies (200-300 ns), and a 2-thread speed-up follows it (docs/benchmarks.md, "Threads: where the
# two cores are").

# NEAR_NS (default 120): below it a probe counts as "near" (one die), at or above it as "far".
PLACEMENT_NEAR_NS=${NEAR_NS:-120}

# core_handover_ns <build-dir>: nanoseconds to hand a cache line from one of our CPUs to the
# other, or nan where that cannot be measured (one CPU, the probe not built).
core_handover_ns() {
  local probe="$1/benchmarks/bench_core_handover"
  [[ -x $probe ]] || { echo nan; return; }
  "$probe" | awk '$1 == "core_handover_ns" { v = $3 } END { print (v == "" ? "nan" : v) }'
}

# placement_label <ns before> <ns after>: near, far, mixed (moved between the probes) or unknown.
placement_label() {
  awk -v a="$1" -v b="$2" -v near="$PLACEMENT_NEAR_NS" 'BEGIN {
    if (a == "nan" || b == "nan") { print "unknown"; exit }
    if (a < near && b < near) print "near"; else if (a >= near && b >= near) print "far"; else print "mixed"
  }'
}
