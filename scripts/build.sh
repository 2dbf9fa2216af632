#!/usr/bin/env bash
# Configures and builds everything into build/ (compiler, runtime, torch
# extension, tests). The torch extension lands in python/hyplora/ so the package
# runs from the source tree (PYTHONPATH=python) as well as from `pip install .`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py=${PYTHON:-python3}
jobs=${HYP_JOBS:-$(nproc)}
torch_prefix="$("$py" -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
pybind_dir="$("$py" -c 'import pybind11;print(pybind11.get_cmake_dir())' 2>/dev/null || true)"
mkdir -p "$here/build"
cmake -G Ninja -S "$here" -B "$here/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DPython3_EXECUTABLE="$(command -v "$py")" -DPython_EXECUTABLE="$(command -v "$py")" \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$pybind_dir" \
  "$@" >"$here/build/configure.log" 2>&1 || { cat "$here/build/configure.log"; exit 1; }
ninja -C "$here/build" -j "$jobs"
