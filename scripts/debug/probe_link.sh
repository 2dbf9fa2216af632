#!/usr/bin/env bash
# Where does libstdc++ code inside libhyplora_torch.so come from (GPU machine)?
L=python/hyplora/lib/libhyplora_torch.so
nm -C $L | grep -E "_M_insert<long>|codecvt<char16_t" | head -5
tr ' ' '\n' < build-gpu/frontend/torch/CMakeFiles/hyplora_torch.dir/link.txt | grep -vE '^$' | grep -iE 'static|\.a$|stdc|-Wl' | head -20
ldd $L | grep -iE 'stdc|gcc'
export PYTHONPATH=$PWD/python LD_LIBRARY_PATH=$PWD/prebuilt HYP_CACHE_DIR=/tmp/hc
LD_DEBUG=libs python3 -c "import hyplora" 2>&1 | grep -E "calling init: .*stdc|find library=libstdc" | head -5
timeout 100 python3 scripts/debug/cuda_forward_smoke.py 2>&1 | tail -6
