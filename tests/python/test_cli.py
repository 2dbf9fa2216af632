"""Command-line argument handling: clear one-line messages, exit status 2 for bad
arguments, 1 for problems found while running (hyplora/cli.py)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyplora import cli

REPO = Path(__file__).resolve().parents[2]


def run_main(capsys, argv):
    """(exit status, stderr) of cli.main, whether it returns or exits."""
    try:
        status = cli.main(argv)
    except SystemExit as stop:
        status = stop.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["finetune", "--r", "0"], "argument --r/--rank: must be >= 1, got 0"),
    (["finetune", "--r", "eight"], "'eight' is not an integer"),
    (["finetune", "--lr", "-1"], "argument --lr/--learning-rate: must be > 0"),
    (["finetune", "--alpha", "nan"], "argument --alpha: must be finite"),
    (["finetune", "--dropout", "1.0"], "argument --dropout: must be in [0, 1)"),
    (["finetune", "--curvature", "inf"], "argument --curvature: must be finite"),
    (["finetune", "--variant", "hyperlora"], "argument --variant: invalid choice: 'hyperlora'"),
    (["finetune", "--convention", "poincare"], "argument --convention: invalid choice"),
    (["finetune", "--target-modules", ","], "argument --target-modules: empty list"),
    (["finetune", "--batch-size", "6", "--micro-batch-size", "4"],
     "--batch-size 6 is not a multiple of --micro-batch-size 4"),
    (["finetune", "--cutoff-len", "4"], "--cutoff-len must be >= 8"),
    (["finetune", "--precision", "fp8"], "argument --precision: invalid choice"),
    (["finetune", "--device", "cpu", "--precision", "bf16"], "--precision bf16 needs a CUDA device"),
    (["eval", "--sets", "mawps,nosuchset"], "unknown data set 'nosuchset'"),
    (["eval", "--limit", "0"], "argument --limit: must be >= 1"),
    (["compare", "--output-dir", "x", "--seeds", "a,b"], "not a comma-separated list of integers"),
    (["compare"], "the following arguments are required: --output-dir"),
    (["compare", "--output-dir", "x", "--shard", "2/2"], "shard '2/2': need 0 <= I < N"),
    (["compare", "--output-dir", "x", "--shard", "half"], "'half' is not I/N"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_arguments_exit_2_with_a_message_naming_the_argument(capsys, argv, message):
    status, err = run_main(capsys, argv)
    assert status == 2, err
    assert message in err


def test_unknown_compare_variant_is_a_usage_error(capsys, tmp_path):
    status, err = run_main(capsys, ["compare", "--output-dir", str(tmp_path), "--variants", "dora"])
    assert status == 2 and "unknown variant(s) dora" in err


def test_missing_data_set_file_exits_1(capsys, tmp_path):
    status, err = run_main(capsys, ["finetune", "--data", str(tmp_path / "absent.json"),
                                    "--model", "tiny-random-llama"])
    assert status == 1 and "cannot read data file" in err and "absent.json" in err


def test_malformed_data_file_exits_1(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"instruction": "q"}]')
    status, err = run_main(capsys, ["finetune", "--data", str(bad), "--model", "tiny-random-llama"])
    assert status == 1 and "record 0 lacks field(s) output, answer" in err


def test_split_that_does_not_exist_exits_1(capsys):
    status, err = run_main(capsys, ["finetune", "--data", "gsm8k", "--model", "tiny-random-llama"])
    assert status == 1 and "data set 'gsm8k' has no 'train' split (has: test)" in err


def test_missing_model_directory_exits_1(capsys, tmp_path):
    status, err = run_main(capsys, ["finetune", "--model", str(tmp_path / "nomodel"), "--max-examples", "2"])
    assert status == 1 and "does not exist" in err


def test_installed_entry_point_runs_as_a_module():
    """`python -m hyplora` (what the console script calls) parses and fails cleanly."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "hyplora", "finetune", "--steps", "-3"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert "hyplora finetune: error: argument --steps: must be >= 0, got -3" in done.stderr
    assert "Traceback" not in done.stderr
    helped = subprocess.run([sys.executable, "-m", "hyplora", "--help"], capture_output=True,
                            text=True, env=env, timeout=300)
    assert helped.returncode == 0
    for command in ("finetune", "eval", "compare", "analyze"):
        assert command in helped.stdout
