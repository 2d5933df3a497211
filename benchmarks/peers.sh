# Sourced by the benchmark scripts: what running the LibTorch and PyTorch peers takes.

# glibc's malloc tunables that spare the peers page faults (large buffers kept instead of being
# unmapped and faulted in again): without them PyTorch's CNN took 19.7 s per 100 steps here
# instead of 4.7, and its MLP epoch 3.4 s instead of 1.5.
PEER_MALLOC_TUNABLES='glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296'

# Builds the LibTorch peers (benchmarks/libtorch) into <build>/libtorch_peer; a no-op when built.
build_libtorch_peers() {  # build-dir
  local source_dir
  source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/libtorch
  cmake -S "$source_dir" -B "$1/libtorch_peer" -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build "$1/libtorch_peer" -j"$(nproc)" > /dev/null
}
