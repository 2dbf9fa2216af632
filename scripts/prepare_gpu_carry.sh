#!/usr/bin/env bash
# Dev machine side of a GPU session: the GPU machine has no MLIR/LLVM and no
# network, so everything that links LLVM is built here and carried in
# prebuilt/ (gitignored; name it in the device call's `carry`): libhypc.so,
# libhyprt.so, the tools and the gtest binaries. Run after scripts/build.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$here/prebuilt"; mkdir -p "$here/prebuilt/bin"
cp "$here"/build/lib/libhypc.so "$here"/build/lib/libhyprt.so "$here/prebuilt/"
for t in hyp-opt hyp-translate hyp-nvrtc-check; do
  [ -x "$here/build/bin/$t" ] && cp "$here/build/bin/$t" "$here/prebuilt/bin/"
done
for t in "$here"/build/bin/*Tests; do
  [ -x "$t" ] && cp "$t" "$here/prebuilt/bin/"
done
strip --strip-unneeded "$here"/prebuilt/*.so "$here"/prebuilt/bin/* 2>/dev/null || true
git -C "$here" rev-parse HEAD > "$here/prebuilt/COMMIT"
du -sh "$here/prebuilt"; ls -la "$here/prebuilt" "$here/prebuilt/bin"
