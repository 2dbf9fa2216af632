#!/usr/bin/env bash
# GPU-machine probe for the JIT crash: ABI flags, compile flags, the C API
# from inside a torch process, and the faulting instruction under cuda-gdb.
export PYTHONPATH=$PWD/python LD_LIBRARY_PATH=$PWD/prebuilt HYP_CACHE_DIR=/tmp/hc
mkdir -p /tmp/hc; chmod 700 /tmp/hc
python3 -c "import torch;print('torch abi', torch._C._GLIBCXX_USE_CXX11_ABI, torch.__version__)"
grep -o '_GLIBCXX_USE_CXX11_ABI=[01]' build-gpu/compile_commands.json | sort | uniq -c
python3 - <<'PY'
import hyplora._C as C
print("version", C.compiler_version())
r = C.compile_adapter("lora", "reference", "f32", 64, 48, 8, 12.0, None)
print("compiled", type(r), str(r)[:200])
PY
timeout 200 cuda-gdb -batch -ex run -ex 'info symbol $pc' -ex 'x/6i $pc-12' -ex 'info registers rip rdi rsi' -ex 'bt 4' \
  --args python3 scripts/debug/cuda_forward_smoke.py 2>&1 | grep -v "^\[New Thread\|^\[Thread\|Detaching\|^\[Inferior" | grep -A30 SIGSEGV | cut -c1-300
HYP_JIT=0 timeout 100 python3 scripts/debug/cuda_forward_smoke.py 2>&1 | tail -5
