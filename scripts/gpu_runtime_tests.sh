#!/usr/bin/env bash
# GPU machine: the runtime's end-to-end check (called by scripts/gpu_session.sh,
# stage `runtime`, as: bash scripts/gpu_runtime_tests.sh "$R").
#   1. RuntimeGpuTests: compile (NVRTC, sm_XY of the device) -> disk cache ->
#      autotune on the real buffers -> launch -> float64 check; then a second
#      process on the same cache must reuse the cubins and the tuning choices.
#   2. Optional: real compiler output, if given:
#        bash scripts/gpu_runtime_tests.sh RESULTS --source f.cu --metadata f.json \
#             [--dims M=1024,K=576,N=192,r=32] [--args scaling=4.0]
# Writes RESULTS/runtime-gpu-tests.log (gtest + HYP_PRINT_AUTOTUNING output)
# and RESULTS/runtime-gpu-timings.jsonl (cold compile, warm load, tune, hot
# launch: one JSON object per line, committable as is).
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"; cd "$here"
R="${1:-$here/gpu-out/results}"; shift || true
mkdir -p "$R"
bin=""
for c in prebuilt/bin/RuntimeGpuTests build-gpu/bin/RuntimeGpuTests build/bin/RuntimeGpuTests build-runtime/bin/RuntimeGpuTests; do
  [ -x "$c" ] && { bin="$c"; break; }
done
[ -n "$bin" ] || { echo "gpu_runtime_tests: no RuntimeGpuTests binary (run scripts/prepare_gpu_carry.sh)"; exit 2; }
export LD_LIBRARY_PATH="$here/prebuilt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export HYP_PRINT_AUTOTUNING=1
log="$R/runtime-gpu-tests.log"; jsonl="$R/runtime-gpu-timings.jsonl"
{
  name="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
  printf '{"suite": "runtime-gpu", "event": "device", "gpu": "%s", "commit": "%s"}\n' \
    "$name" "$(cat prebuilt/COMMIT 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)"
} > "$jsonl"
"$bin" --gtest_color=no > "$log" 2>&1
rc=$?
grep -h '^{"suite": "runtime-gpu"' "$log" >> "$jsonl"
if [ $# -gt 0 ]; then
  echo "=== RuntimeGpuTests $*" >> "$log"
  "$bin" "$@" >> "$log" 2>&1 || rc=$?
  grep -h '"event": "tool_' "$log" >> "$jsonl"
fi
grep -E '^\[  (PASSED|FAILED|SKIPPED) \]' "$log"
if nvidia-smi -L >/dev/null 2>&1 && grep -q '^\[  SKIPPED \] Gpu\.' "$log"; then
  echo "gpu_runtime_tests: a GPU is here but the GPU tests skipped (reason in $log)"; rc=3
fi
echo "gpu_runtime_tests: rc=$rc, $(wc -l < "$jsonl") timing lines in $jsonl"
exit $rc
