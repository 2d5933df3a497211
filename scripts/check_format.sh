#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format makes of it with the committed
# .clang-format (Debian's clang-format, installed when missing). `make format` rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh format
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "check_format: the files above are not formatted; run 'make format'" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
