"""`hyplora analyze` end to end on the tiny random model (the real model runs are in docs/analysis/)."""

import argparse
import json

import numpy as np
import pytest
import torch

from hyplora.analysis import add_analyze_arguments, analyze, delta_hyperbolicity, run_analyze
from hyplora.models.tiny import load_tiny

WORDS = "the a of to and in is it you that he was for on are with as I his they be at one have this".split()


def zipf_records(n_records=40, seed=0):
    """Sentences whose words follow a Zipf law, so frequencies span two decades."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, len(WORDS) + 1) ** 1.2
    p /= p.sum()
    return [{"instruction": " ".join(rng.choice(WORDS, size=rng.integers(6, 20), p=p)), "input": "",
             "output": "", "answer": "0"} for _ in range(n_records)]


@pytest.fixture(scope="module")
def tiny():
    return load_tiny()


def test_analyze_writes_consistent_json_and_plots(tiny, tmp_path):
    pytest.importorskip("matplotlib")
    model, tokenizer = tiny
    records = zipf_records()
    r = analyze(model, tokenizer, records, out_dir=tmp_path, exact_n=10, exact_repeats=2, prompt_exact_limit=5,
                labels={"model": "tiny", "data": "zipf"})
    saved = json.loads((tmp_path / "analysis.json").read_text())
    assert saved["tokens"] == r["tokens"]
    for png in ("rank_frequency.png", "frequency_count.png", "norm_vs_frequency.png", "delta_per_prompt.png"):
        assert (tmp_path / png).stat().st_size > 1000
    lengths = [len(tokenizer(x["instruction"], add_special_tokens=False)["input_ids"]) for x in records]
    assert r["tokens"] == sum(lengths)
    assert r["power_law"]["gamma"] > 1 and r["power_law"]["n"] == r["distinct_tokens"]
    assert -1 <= r["norm_vs_frequency"]["spearman"]["rho"] <= 1
    assert sum(b["tokens"] for b in r["norm_vs_frequency"]["bins"]) == r["distinct_tokens"]
    pp = r["delta_paper_protocol"]
    assert pp["prompts"] == len(records) and 0 < pp["relative_delta_mean"] <= 1
    # The per-prompt number is delta_w with w = the first token: recompute prompt 0 independently.
    emb = model.get_input_embeddings().weight.detach()
    ids = tokenizer(records[0]["instruction"], add_special_tokens=False)["input_ids"]
    _, rel0 = delta_hyperbolicity(emb[ids], base_point=0)
    assert rel0 > 0
    e = pp["exact_on_subset"]
    assert e["prompts"] == 5 and e["exact_relative_mean"] >= e["fixed_base_relative_mean"] - 1e-12
    ex = r["delta_exact_distinct_tokens"]
    assert ex["kind"] == "sampled_exact" and ex["subset_size"] == 10 < ex["distinct_tokens"]
    assert ex["fixed_base_same_points"]["delta"] <= ex["delta"] + 1e-12
    assert r["curvature"]["from_paper_protocol"]["K"] > 0


def test_norm_frequency_correlation_detects_planted_structure(tiny):
    # Give frequent tokens small embedding norms: Spearman must come out strongly negative.
    model, tokenizer = tiny
    records = zipf_records(60, seed=1)
    ids = [i for x in records for i in tokenizer(x["instruction"], add_special_tokens=False)["input_ids"]]
    counts = np.bincount(ids, minlength=len(tokenizer)).astype(float)
    planted = type(model)(model.config)
    with torch.no_grad():
        w = torch.randn_like(planted.get_input_embeddings().weight)
        w /= w.norm(dim=1, keepdim=True)
        w *= torch.tensor(1.0 / np.sqrt(1.0 + counts), dtype=w.dtype)[:, None]
        planted.get_input_embeddings().weight.copy_(w)
    r = analyze(planted, tokenizer, records, exact_n=8, exact_repeats=1, prompt_exact_limit=0, make_plots=False)
    assert r["norm_vs_frequency"]["spearman"]["rho"] < -0.9


def test_cli_entry_point_on_a_json_file(tmp_path, capsys, monkeypatch):
    data = tmp_path / "set" / "test.json"
    data.parent.mkdir()
    data.write_text(json.dumps(zipf_records(12)))
    parser = add_analyze_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--model", "tiny-random-llama", "--data", str(data), "--device", "cpu",
                              "--out", str(tmp_path / "out"), "--exact-n", "12", "--exact-repeats", "1",
                              "--prompt-exact-limit", "2", "--no-plots"])
    assert args.model == "tiny-random-llama"
    assert run_analyze(args) == 0
    assert "gamma" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "analysis.json").read_text())["records"] == 12
    assert not list((tmp_path / "out").glob("*.png"))
    defaults = parser.parse_args([])
    assert (defaults.model, defaults.data) == ("smollm2-135m", "mawps")


def test_records_without_text_give_a_clear_error(tmp_path, capsys):
    data = tmp_path / "empty.json"
    data.write_text(json.dumps([{"instruction": " ", "input": "", "output": "", "answer": "1"}]))
    args = add_analyze_arguments(argparse.ArgumentParser()).parse_args(
        ["--model", "tiny-random-llama", "--data", str(data), "--device", "cpu", "--out", str(tmp_path / "o")])
    assert run_analyze(args) == 1
    assert "no record has text" in capsys.readouterr().err


def test_null_baseline_is_reported(tiny):
    model, tokenizer = tiny
    r = analyze(model, tokenizer, zipf_records(10), exact_n=8, exact_repeats=1, prompt_exact_limit=0,
                make_plots=False)
    null = r["delta_paper_protocol"]["null_gaussian"]
    assert 0 < null["relative_delta_mean"] <= 1
    assert 0 < r["delta_paper_protocol"]["null_random_vocabulary_rows"]["relative_delta_mean"] <= 1
    assert 0 < r["delta_exact_distinct_tokens"]["null_gaussian"]["relative_delta"] <= 1


def test_markdown_report_of_a_run(tiny, tmp_path):
    from hyplora.analysis.report import markdown
    model, tokenizer = tiny
    analyze(model, tokenizer, zipf_records(10), out_dir=tmp_path, exact_n=8, exact_repeats=2,
            prompt_exact_limit=2, make_plots=False, labels={"data": "zipf"})
    table = markdown([tmp_path / "analysis.json"]).splitlines()
    assert len(table) == 3 and table[2].startswith("| zipf |")
    assert table[0].count("|") == table[2].count("|")


@pytest.mark.parametrize("flag,value", [("--exact-n", "3"), ("--exact-repeats", "0"), ("--limit", "-1"),
                                        ("--exact-n", "many")])
def test_bad_numbers_are_usage_errors(flag, value, capsys):
    with pytest.raises(SystemExit):
        add_analyze_arguments(argparse.ArgumentParser()).parse_args([flag, value])
    assert flag in capsys.readouterr().err
