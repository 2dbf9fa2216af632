#!/usr/bin/env bash
# The test command (README, CI): installs what is missing, builds, then runs
# the lit suite (compiler IR + codegen), every gtest binary (through lit), and
# pytest, and ends with one line: "N passed, N failed, N skipped".
# GPU tests skip with a printed reason when there is no CUDA driver/device.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
py=${PYTHON:-python3}
if [ "${HYP_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/install_deps.sh || exit 1
  bash scripts/build.sh || exit 1
fi
log="$here/build/test-logs"; mkdir -p "$log"
lit=/usr/lib/llvm-22/bin/lit; command -v "$lit" >/dev/null || lit=lit

echo "=== lit (compiler tests + gtest suites)"
"$lit" -v build/tests/lit build/tests/gtest 2>&1 | tee "$log/lit.txt"
echo "=== pytest"
PYTHONPATH="$here/python${PYTHONPATH:+:$PYTHONPATH}" "$py" -m pytest -q -rs tests/python 2>&1 | tee "$log/pytest.txt"

"$py" "$here/scripts/summarize_tests.py" "$log/lit.txt" "$log/pytest.txt"
