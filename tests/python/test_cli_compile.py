"""`hyplora compile`: the JIT's compile of one layer shape, printed and dumped, without a GPU."""
import os

import pytest

from hyplora import jit
from hyplora.cli import main

pytestmark = pytest.mark.skipif(not jit.compiled_in(),
                                reason="hyplora built without libhypc/libhyprt (no JIT)")

LAYER = ["--in-features", "576", "--out-features", "192"]


def programs(text):
    """program name -> kernels, from the command's output."""
    out = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name in ("forward", "forward_store", "backward"):
            out[name] = [k.strip() for k in rest.split(",")]
    return out


def test_compile_prints_what_the_jit_runs(capsys, monkeypatch):
    monkeypatch.delenv("HYP_DY_PASS", raising=False)
    monkeypatch.delenv("HYP_TENSOR_CORES", raising=False)
    assert main(["compile", *LAYER, "--rank", "32"]) == 0
    text = capsys.readouterr().out
    # The JIT's defaults: tensor cores for bf16, and so the one pass over dY at r <= 32.
    assert "options 'tensor-cores=1'" in text
    got = programs(text)
    assert got["backward"] == ["hyp_gram", "hyp_bwd_dy_pass", "hyp_bwd_rows", "hyp_bwd_db_gram",
                               "hyp_bwd_dx"]
    assert got["forward_store"][-1] == "hyp_fwd_up_store"
    assert "hyp_fwd_down: FWD_DOWN_BLOCK_M={" in text


def test_compile_follows_the_jit_environment(capsys, monkeypatch):
    monkeypatch.setenv("HYP_DY_PASS", "0")
    assert main(["compile", *LAYER, "--rank", "32"]) == 0
    text = capsys.readouterr().out
    assert "dy-pass=0" in text
    assert programs(text)["backward"] == ["hyp_gram", "hyp_bwd_dy", "hyp_bwd_db", "hyp_bwd_dx"]
    # --options replaces the environment's: no tensor cores, the SIMT kernels' two passes.
    assert main(["compile", *LAYER, "--rank", "32", "--options", "dy-pass=1"]) == 0
    assert "hyp_bwd_dy_pass" not in capsys.readouterr().out


def test_compile_dump_writes_stages_and_replay(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HYP_DUMP_DIR", raising=False)
    dump = tmp_path / "dump"
    assert main(["compile", *LAYER, "--rank", "16", "--variant", "lora", "--dump", str(dump)]) == 0
    names = {p.name for p in dump.iterdir()}
    assert {"00-input.mlir", "03-hyp-group-kernels.mlir", "hyp_kernels.cu", "hyp_kernels.json",
            "replay.sh"} <= names
    assert "dy-pass=true" in (dump / "replay.sh").read_text()
    assert "replay.sh" in capsys.readouterr().out
    assert "HYP_DUMP_DIR" not in os.environ  # restored after the compile


def test_compile_errors_name_the_problem(capsys):
    assert main(["compile", *LAYER, "--rank", "300"]) == 1
    assert "rank r must be in [1, 128], got 300" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["compile", *LAYER, "--rank", "0"])
    assert exit_info.value.code == 2
    assert "--rank: must be >= 1, got 0" in capsys.readouterr().err
