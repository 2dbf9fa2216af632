"""The JIT's contract with the compiler, checked without a GPU: every program
libhypc emits for an adapted layer must be bindable by frontend/torch's
JitAdapter (the parameter and buffer names of CONTRACTS.md section 3), and the
runtime controls exposed by hyplora._C must work. Skips when this build has no
compiler/runtime linked in."""
import json
import os
import pathlib
import re
import subprocess

import pytest

import hyplora
from hyplora import jit

pytestmark = pytest.mark.skipif(not jit.compiled_in(),
                                reason="hyplora built without libhypc/libhyprt (no JIT)")

# What JitAdapter.cpp binds by name; everything else must be a metadata buffer.
FRONTEND_TENSORS = {"x", "y", "A", "B", "k", "s", "w", "stats", "dY", "dy", "dx", "dA", "dB",
                    "dk", "ds"}
FRONTEND_INTS = {"M", "K", "N", "r"}
FRONTEND_FLOATS = {"scaling", "max_sinh_arg"}


@pytest.mark.parametrize("variant,convention", [("hyplora", "reference"), ("hyplora", "lorentz"),
                                                ("hyplora_simplified", "reference"),
                                                ("lora", "reference")])
@pytest.mark.parametrize("act", ["f32", "bf16", "f16"])
def test_compiled_programs_are_bindable_by_the_frontend(variant, convention, act):
    out = jit.compile_adapter(variant, convention, act, 72, 40, 8)
    assert out["ok"], out["error"]
    meta = json.loads(out["metadata_json"])
    assert set(meta["programs"]) >= {"forward", "backward"}
    names = {k["name"] for k in meta["kernels"]}
    for entry in ("forward", "backward"):
        assert set(meta["programs"][entry]) <= names
    buffers = meta["buffers"]
    for kernel in meta["kernels"]:
        for p in kernel["params"]:
            n, kind = p["name"], p["kind"]
            if kind == "ptr":
                assert n in FRONTEND_TENSORS or n in buffers, f"{kernel['name']}: {n}"
                if n not in FRONTEND_TENSORS:
                    for sym in buffers[n]["shape"]:
                        assert isinstance(sym, int) or sym in FRONTEND_INTS, (n, sym)
            elif kind in ("i32", "i64"):
                assert n in FRONTEND_INTS, f"{kernel['name']}: integer param {n}"
            else:
                assert n in FRONTEND_FLOATS, f"{kernel['name']}: float param {n}"
    # Shapes of the tensors the frontend allocates agree with the metadata.
    for n, shape in {"w": ["M", "r"], "stats": ["M", 4], "x": ["M", "K"], "y": ["M", "N"]}.items():
        if n in buffers:
            assert buffers[n]["shape"] == shape, n
    for n in ("w", "stats", "dA", "dB"):
        if n in buffers:
            assert buffers[n]["elem"] == "f32", n
    for n in ("x", "y", "dY", "dx"):
        if n in buffers:
            assert buffers[n]["elem"] == act, n


TOOLS = pathlib.Path(__file__).resolve().parents[2] / "build" / "bin"


@pytest.mark.skipif(not (TOOLS / "hyp-opt").exists() or not (TOOLS / "hyp-translate").exists(),
                    reason="hyp-opt / hyp-translate not built in build/bin")
@pytest.mark.parametrize("options", ["tensor-cores=1", "tensor-cores=1 dy-pass=0 row-split-cols=0",
                                     None])
def test_dump_dir_replay_redoes_the_compile(tmp_path, monkeypatch, options):
    """Any JIT compile reproduces from the command line: HYP_DUMP_DIR's replay.sh (hyp-opt
    with the pipeline options libhypc resolved, dy-pass included, then hyp-translate) gives
    the same kernels, programs, buffers and kernel source, but for source locations."""
    monkeypatch.setenv("HYP_DUMP_DIR", str(tmp_path))
    out = jit.compile_adapter("hyplora", "lorentz", "bf16", 256, 192, 32, options=options)
    monkeypatch.delenv("HYP_DUMP_DIR")
    assert out["ok"], out["error"]
    env = dict(os.environ, PATH=f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run(["sh", "replay.sh"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got, want = json.loads((tmp_path / "replay.json").read_text()), json.loads(out["metadata_json"])
    for key in ("kernels", "programs", "buffers"):
        assert got[key] == want[key], key
    one_pass = "hyp_bwd_dy_pass" in want["programs"]["backward"]
    assert one_pass == (options == "tensor-cores=1")

    def kernels_text(source):
        body = source[source.index("// Stage-3 kernels of the IR"):]
        return re.sub(r'loc\("[^"]*":\d+:\d+\)', "loc(...)", body)
    assert kernels_text((tmp_path / "replay.cu").read_text()) == kernels_text(out["cuda_source"])


def test_compile_errors_come_back_as_text():
    out = jit.compile_adapter("no_such_variant", "reference", "bf16", 8, 8, 2)
    assert not out["ok"] and out["error"]


def test_runtime_controls(tmp_path):
    old = jit.autotune_mode()
    try:
        jit.set_autotune_mode("0")
        assert jit.autotune_mode() == "0"
        with pytest.raises(RuntimeError):
            jit.set_autotune_mode("sometimes")
    finally:
        jit.set_autotune_mode(old)
    stats = jit.cache_stats(str(tmp_path / "cache"))
    assert stats["kernel_entries"] == 0
    jit.clear_cache(str(tmp_path / "cache"))
    assert isinstance(jit.cache_dir(), str) and jit.cache_dir()
    assert jit.compiler_version().startswith("hypc")


def test_cpu_calls_do_not_use_the_jit():
    import torch
    before = jit.counters()
    m = hyplora.HypLoRALinear(torch.nn.Linear(8, 4), r=2, alpha=4)
    m(torch.randn(3, 8)).sum().backward()
    assert jit.counters() == before
