#!/usr/bin/env bash
# LoRA vs HypLoRA (reference) vs HypLoRA (lorentz) on SmolLM2-135M, 3 seeds, same
# budget: MAWPS train -> MAWPS / SVAMP / GSM8K test accuracy, wall-clock, tokens/s.
# Writes compare.json + compare.md (the table for docs/) into the output dir; the
# files are rewritten after every run, so a cut-short run keeps what finished.
# Sized for about 8 minutes on one H100; extra arguments go to `hyplora compare`
# (e.g. --steps 60 --eval-limit 50 for less, --seeds 0,1,2,3,4 for more).
# Usage: scripts/compare_variants.sh OUTPUT_DIR [hyplora compare options]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -lt 1 ]; then
  echo "usage: $0 OUTPUT_DIR [hyplora compare options]" >&2
  exit 2
fi
out=$1
shift
export PYTHONPATH="$here/python${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" -m hyplora compare --output-dir "$out" --no-progress "$@"
