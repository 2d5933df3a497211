#!/usr/bin/env bash
# Installs the Debian packages xgrad needs that this machine lacks, and nothing else.
#   scripts/install_deps.sh            build + test dependencies
#   scripts/install_deps.sh bench      also the peers the benchmarks compare against
#   scripts/install_deps.sh format     also clang-format, which CI uses to check the code's layout
# Runs apt-get as root, or through sudo; does nothing when everything is present.
set -euo pipefail

# dataset-fashion-mnist: the IDX files the main example trains on and the reader tests check;
# python3-numpy: the test that NumPy reads the .npz files xgrad writes; libdnnl-dev: oneDNN, which
# runs float32 convolutions about 1.5x faster than im2col + GEMM here (docs/benchmarks.md);
# gnuplot-nox: renders the plots xgrad::training::plot writes (PNG and SVG) from its data and script;
# libcli11-dev: the examples' command-line flags (--help, errors naming the flag);
# libopenmpi-dev openmpi-bin: Open MPI, for data-parallel training over several processes or hosts
# (xgrad::distributed, nn::DistributedDataParallel) and mpirun, which its tests run under.
packages=(g++ cmake make libxtensor-dev libxsimd-dev xtl-dev libboost-test-dev libopenblas-dev zlib1g-dev
          dataset-fashion-mnist python3-numpy libdnnl-dev gnuplot-nox libcli11-dev libopenmpi-dev openmpi-bin)
if [[ "${1:-}" == "bench" ]]; then
  packages+=(python3-torch libtorch-dev)
fi
if [[ "${1:-}" == "format" ]]; then
  packages+=(clang-format)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "xgrad: installing missing packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "xgrad: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
