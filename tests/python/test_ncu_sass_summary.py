"""bench/ncu_sass_summary.py on a synthetic Nsight Compute source page: kernels
split at their headers, predicated opcodes counted under their opcode, loop
levels found from equal execution counts, and an empty file refused."""
from __future__ import annotations

import io
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from bench import ncu_sass_summary as ns  # noqa: E402

HEADER = ('"Address","Source","Warp Stall Sampling (All Samples)","Instructions Executed",'
          '"stall_wait","stall_barrier","stall_wait (Not Issued)"\n')


def page() -> str:
    rows = [("0x0", "LDC R1, c[0x0][0x28]", 1, 64, 1, 0),
            ("0x10", "IMAD R2, R3, 0x2, RZ", 5, 6400, 4, 1),
            ("0x20", "@P0 BRA 0x10", 2, 6400, 0, 2),
            ("0x30", "HMMA.16816.F32.BF16 R4, R8, R12, R4", 9, 6400, 9, 0)]
    text = '"Kernel Name","hyp_a",\n' + HEADER
    text += "".join(f'"{a}","  {s}","{w}","{e:,}","{sw}","{sb}","7"\n' for a, s, w, e, sw, sb in rows)
    text += '"Kernel Name","hyp_b",\n' + HEADER + '"0x0","EXIT","0","32","0","0","0"\n'
    return text


def test_summary_counts_opcodes_levels_and_stalls():
    kernels = ns.read_kernels(io.StringIO(page()))
    assert set(kernels) == {"hyp_a", "hyp_b"}
    s = ns.summarize(kernels["hyp_a"])
    assert s["warp_instructions_executed"] == 64 + 3 * 6400
    assert s["executed_share"]["BRA"] == 6400 / (64 + 3 * 6400)  # the predicate is not an opcode
    # Three instructions ran 6400 times (the loop), one ran 64 times.
    assert s["loop_levels"][0] == {"count": 6400, "instructions": 3, "warp_instructions": 19200}
    assert s["loop_levels"][1]["count"] == 64
    # Not-issued columns are a subset of the all-samples ones: not counted twice.
    assert abs(s["stall_reasons"]["wait"] - 14 / 17) < 1e-12
    assert abs(s["stall_reasons"]["barrier"] - 3 / 17) < 1e-12


def test_a_file_without_kernels_is_an_error(tmp_path, capsys):
    bad = tmp_path / "empty.csv"
    bad.write_text("==PROF== nothing profiled\n")
    assert ns.main([str(bad)]) == 1
    assert "no 'Kernel Name' sections" in capsys.readouterr().err
