#!/usr/bin/env bash
# The same seed gives the same bits in every build: tests/bits_probe (a few training steps of an
# MLP, a CNN, an LSTM and a Transformer layer, and the element-wise math, each as a digest) must
# print in each build what it prints in the reference build. make debug and make sanitize run it
# against the Release build (the library is compiled with -ffp-contract=off for this; see
# CMakeLists.txt).
#   scripts/same_bits.sh <reference build dir> <build dir>...
set -euo pipefail
reference=$1
shift
# oneDNN's convolution is another computation with its own bits, and the Debug build in CI has no
# oneDNN: every build convolves by im2col here.
export XGRAD_CONV=im2col
expected=$("$reference/tests/bits_probe")
for build in "$@"; do
    got=$("$build/tests/bits_probe")
    if [[ "$got" != "$expected" ]]; then
        echo "same_bits: $build/tests/bits_probe differs from $reference/tests/bits_probe:" >&2
        diff <(echo "$expected") <(echo "$got") >&2 || true
        exit 1
    fi
done
echo "same_bits: $* give the bits of $reference:"
echo "$expected"
