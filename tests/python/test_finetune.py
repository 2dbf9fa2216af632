"""Fine-tuning and evaluation (hyplora/finetune.py, evaluate.py, compare.py) on the
tiny random LLaMA ("tiny-random-llama": hidden 32, 2 layers, byte tokenizer), CPU.

Uses the real hyplora core (inject/save_adapter/load_adapter). When the native op
library is not built yet, a thin plain-LoRA stand-in replaces those four names for
the duration of a test (printed), so the training loop, I/O and CLI stay tested.
"""
import json
import math
import statistics

import pytest
import torch

import hyplora
from hyplora import cli
from hyplora.finetune import (IGNORE_INDEX, AdapterSettings, FinetuneError, TrainSettings,
                              attach_adapter, collate, finetune, plan_steps, tokenize_example,
                              tokenize_records)
from hyplora.models import load_model

RECORDS = [
    {"instruction": "Tom has 3 apples and buys 4 more. How many apples does he have?", "input": "",
     "output": "X=3+4\nThe answer is 7.", "answer": "7"},
    {"instruction": "A box holds 6 eggs. How many eggs are in 2 boxes?", "input": "",
     "output": "X=6*2\nThe answer is 12.", "answer": "12"},
    {"instruction": "Sara had 10 pens and gave away 4. How many are left?", "input": "",
     "output": "X=10-4\nThe answer is 6.", "answer": "6"},
    {"instruction": "Split 8 cookies among 2 kids. How many each?", "input": "",
     "output": "X=8/2\nThe answer is 4.", "answer": "4"},
]


# ---------------------------------------------------------------- core API or stand-in

class _StandInLoRA(torch.nn.Module):
    """Plain LoRA with HypLoRALinear's parameter names (stand-in only)."""

    def __init__(self, base, config):
        super().__init__()
        self.base = base
        self.lora_A = torch.nn.Parameter(torch.randn(config.r, base.in_features) / base.in_features ** 0.5)
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, config.r))
        self.scaling = config.alpha / config.r

    def forward(self, x):
        adapter = (x.float() @ self.lora_A.t() @ self.lora_B.t()) * self.scaling
        return self.base(x) + adapter.to(x.dtype)


def _standin_inject(model, config):
    for param in model.parameters():
        param.requires_grad_(False)
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and config.matches(n)]
    if not names:
        raise ValueError(f"no nn.Linear matches target_modules={config.target_modules}")
    for name in names:
        parent, _, child = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        setattr(owner, child, _StandInLoRA(getattr(owner, child), config))
    model._standin_config = config.to_dict()
    return names


def _standin_save(model, directory):
    from safetensors.torch import save_file
    tensors = {n: p.detach().contiguous() for n, p in model.named_parameters() if "lora_" in n}
    save_file(tensors, f"{directory}/adapter_model.safetensors")
    with open(f"{directory}/standin_config.json", "w") as handle:
        json.dump(model._standin_config, handle)


def _standin_load(model, directory):
    from safetensors.torch import load_file
    with open(f"{directory}/standin_config.json") as handle:
        if json.load(handle) != model._standin_config:
            raise ValueError("adapter config differs")
    model.load_state_dict(load_file(f"{directory}/adapter_model.safetensors"), strict=False)


@pytest.fixture
def core(monkeypatch):
    """'hyplora' when the real core works, else installs the stand-in and says so."""
    if getattr(hyplora, "_NATIVE_ERROR", None) is None and "inject" in dir(hyplora):
        return "hyplora"
    print("\n[test] hyplora native library not built: plain-LoRA stand-in for inject/save/load")
    for name, fn in (("inject", _standin_inject), ("save_adapter", _standin_save),
                     ("load_adapter", _standin_load)):
        monkeypatch.setitem(hyplora.__dict__, name, fn)
    return "stand-in"


@pytest.fixture
def tiny():
    return load_model("tiny-random-llama", device="cpu")


# ---------------------------------------------------------------- data pipeline

def test_tokenize_masks_prompt_appends_eos_and_truncates(tiny):
    _, tokenizer = tiny
    example = tokenize_example(tokenizer, RECORDS[0], cutoff_len=256)
    ids, labels = example["input_ids"], example["labels"]
    assert len(ids) == len(labels) and ids[-1] == tokenizer.eos_token_id
    prompt_len = next(i for i, label in enumerate(labels) if label != IGNORE_INDEX)
    assert tokenizer.decode(ids[:prompt_len]).endswith("### Response:\n")
    assert tokenizer.decode(ids[prompt_len:-1]) == RECORDS[0]["output"]
    assert labels[prompt_len:] == ids[prompt_len:]
    short = tokenize_example(tokenizer, RECORDS[0], cutoff_len=prompt_len + 3)
    assert len(short["input_ids"]) == prompt_len + 3 and short["input_ids"][-1] != tokenizer.eos_token_id
    # An example whose response falls entirely beyond the cutoff has no loss: dropped.
    assert len(tokenize_records(tokenizer, RECORDS[:2] + [dict(RECORDS[0], instruction="x" * 400)],
                                cutoff_len=prompt_len + 3)) == 2
    with pytest.raises(FinetuneError, match="no example has response tokens"):
        tokenize_records(tokenizer, RECORDS, cutoff_len=8)


def test_collate_right_pads_to_a_multiple_of_8():
    batch = collate([{"input_ids": [5, 6, 7], "labels": [IGNORE_INDEX, 6, 7]},
                     {"input_ids": list(range(10, 21)), "labels": list(range(10, 21))}], pad_id=0)
    assert batch["input_ids"].shape == (2, 16)
    assert batch["attention_mask"].sum(1).tolist() == [3, 11]
    assert batch["labels"][0].tolist() == [IGNORE_INDEX, 6, 7] + [IGNORE_INDEX] * 13
    assert batch["input_ids"][0, 3:].eq(0).all()


def test_step_plan_matches_the_paper_recipe():
    train = TrainSettings(epochs=3, batch_size=16, micro_batch_size=4)
    assert plan_steps(1898, train) == (math.ceil(1898 * 3 / 16), 4, 35)
    assert plan_steps(100, TrainSettings(max_steps=7, batch_size=4, micro_batch_size=4)) == (7, 1, 0)
    with pytest.raises(FinetuneError, match="not a multiple"):
        plan_steps(10, TrainSettings(batch_size=6, micro_batch_size=4))


def test_mawps_train_is_converted_on_load_and_scores_its_own_answers():
    from hyplora import data
    from hyplora.answers import extract_answer, is_correct
    records = data.load_dataset("mawps", "train")
    assert len(records) == 1898 and len(data.load_dataset("MAWPS", "valid")) == 237
    assert records[0]["instruction"].startswith("A waiter had 22 customers")
    assert records[0]["output"] == "X=((22-14)/4)\nThe answer is 2." and records[0]["answer"] == "2"
    # every converted response is scored correct by the rule eval uses on MAWPS test
    assert all(is_correct("mawps", extract_answer("mawps", r["output"]), r["answer"]) for r in records)
    assert data.load_dataset("math", "train") == records
    with pytest.raises(data.DataError, match="only a train split"):
        data.load_dataset("math", "test")


# ---------------------------------------------------------------- training

def _logits(model, tokenizer):
    ids = tokenizer(["Question: 2+2?", "How many?"], return_tensors="pt", padding=True)
    with torch.no_grad():
        return model(**ids).logits


def test_three_step_cpu_finetune_loss_falls_and_adapter_reloads(tmp_path, tiny, core):
    model, tokenizer = tiny
    base_logits = _logits(model, tokenizer)
    adapter = AdapterSettings(dropout=0.0)
    train = TrainSettings(learning_rate=5e-3, max_steps=3, batch_size=4, micro_batch_size=4,
                          warmup_steps=0, seed=1, progress=False)
    info = finetune(model, tokenizer, RECORDS, adapter, train, tmp_path)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    assert set(log[0]) >= {"step", "loss", "lr", "tokens_per_s", "wall_s"}
    assert all(r["tokens_per_s"] > 0 for r in log)
    # every step sees the same 4 records (batch = data set), so the losses are comparable
    assert log[-1]["loss"] < log[0]["loss"], [r["loss"] for r in log]
    assert info["summary"]["trainable_parameters"] > 0
    # steady rate = median of the second half's step rates (steps 2 and 3 here)
    summary = info["summary"]
    assert summary["first_step_s"] > 0
    assert summary["steady_tokens_per_s"] == pytest.approx(
        statistics.median(r["tokens_per_s"] for r in log[1:]), rel=0.02)
    saved = json.loads((tmp_path / "finetune.json").read_text())
    assert saved["adapter"]["variant"] == "hyplora" and saved["train"]["max_steps"] == 3

    trained_logits = _logits(model, tokenizer)
    assert not torch.allclose(trained_logits, base_logits, atol=1e-4)  # training changed something
    fresh, _ = load_model("tiny-random-llama", device="cpu")
    attach_adapter(fresh, tmp_path)
    torch.testing.assert_close(_logits(fresh, tokenizer), trained_logits, rtol=0, atol=1e-6)


def test_hf_trainer_path_trains_and_logs(tmp_path, tiny, core):
    model, tokenizer = tiny
    train = TrainSettings(learning_rate=5e-3, max_steps=2, batch_size=4, micro_batch_size=2,
                          warmup_steps=0, trainer="hf", progress=False)
    info = finetune(model, tokenizer, RECORDS, AdapterSettings(dropout=0.0), train, tmp_path)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and all(math.isfinite(r["loss"]) for r in log)
    assert info["summary"]["accumulation"] == 2 and (tmp_path / "finetune.json").is_file()


def test_unmatched_target_modules_is_a_clear_error(tiny, core):
    model, tokenizer = tiny
    with pytest.raises(FinetuneError, match="no_such_proj"):
        finetune(model, tokenizer, RECORDS, AdapterSettings(target_modules=["no_such_proj"]),
                 TrainSettings(max_steps=1, batch_size=4, progress=False))


# ---------------------------------------------------------------- command line, end to end

def test_cli_finetune_then_eval_then_compare(tmp_path, core, capsys):
    out = tmp_path / "run"
    assert cli.main(["finetune", "--model", "tiny-random-llama", "--device", "cpu", "--steps", "2",
                     "--batch-size", "2", "--micro-batch-size", "2", "--max-examples", "8",
                     "--r", "4", "--no-progress", "--output-dir", str(out), "--run-label", "test"]) == 0
    assert (out / "finetune.json").is_file() and (out / "train_log.jsonl").is_file()
    assert cli.main(["eval", "--model", "tiny-random-llama", "--device", "cpu", "--adapter", str(out),
                     "--sets", "mawps,boolq", "--limit", "3", "--max-new-tokens", "4",
                     "--no-progress", "--run-label", "test"]) == 0
    result = json.loads((out / "eval" / "eval.json").read_text())
    assert set(result["sets"]) == {"mawps", "boolq"}
    assert result["sets"]["mawps"]["total"] == 3 and len(result["samples"]["boolq"]) == 3
    assert result["adapter_settings"]["r"] == 4 and result["run_label"] == "test"
    assert "| mawps | " in (out / "eval" / "eval.md").read_text()

    report_dir = tmp_path / "compare"
    assert cli.main(["compare", "--model", "tiny-random-llama", "--device", "cpu", "--seeds", "0,1",
                     "--variants", "lora,hyplora-lorentz", "--steps", "1", "--batch-size", "2",
                     "--micro-batch-size", "2", "--eval-sets", "mawps", "--eval-limit", "2",
                     "--max-new-tokens", "3", "--no-progress", "--output-dir", str(report_dir)]) == 0
    report = json.loads((report_dir / "compare.json").read_text())
    assert len(report["runs"]) == 4 and set(report["summary"]) == {"lora", "hyplora-lorentz"}
    assert report["summary"]["lora"]["runs"] == 2
    assert "| hyplora-lorentz | 2 |" in (report_dir / "compare.md").read_text()


def test_cli_eval_of_a_directory_that_is_no_adapter_fails_cleanly(tmp_path, capsys):
    assert cli.main(["eval", "--model", "tiny-random-llama", "--adapter", str(tmp_path)]) == 1
    assert "not a hyplora finetune output" in capsys.readouterr().err


def test_compare_starts_no_run_past_its_budget(tmp_path, core):
    report_dir = tmp_path / "compare"
    assert cli.main(["compare", "--model", "tiny-random-llama", "--device", "cpu", "--seeds", "0,1",
                     "--variants", "lora", "--steps", "1", "--batch-size", "2", "--micro-batch-size", "2",
                     "--eval-sets", "mawps", "--eval-limit", "1", "--max-new-tokens", "2",
                     "--budget-s", "0.001", "--no-progress", "--output-dir", str(report_dir)]) == 0
    report = json.loads((report_dir / "compare.json").read_text())
    assert len(report["runs"]) == 1 and "1 of 2 runs" in report["stopped_early"]
    assert "Stopped early" in (report_dir / "compare.md").read_text()


def test_compare_continues_a_cut_short_report_and_refuses_other_settings(tmp_path, core, capsys):
    report_dir = tmp_path / "compare"
    common = ["compare", "--model", "tiny-random-llama", "--device", "cpu", "--variants", "lora",
              "--steps", "1", "--batch-size", "2", "--micro-batch-size", "2", "--eval-sets", "mawps",
              "--eval-limit", "1", "--max-new-tokens", "2", "--no-progress", "--output-dir", str(report_dir)]
    assert cli.main(common + ["--seeds", "0"]) == 0
    first = json.loads((report_dir / "compare.json").read_text())["runs"]
    assert cli.main(common + ["--seeds", "0,1"]) == 0           # only seed 1 is new
    assert "resuming, 1 run(s)" in capsys.readouterr().out
    runs = json.loads((report_dir / "compare.json").read_text())["runs"]
    assert [(r["seed"], r["variant"]) for r in runs] == [(0, "lora"), (1, "lora")]
    assert runs[0] == first[0]                                 # kept, not re-run
    with pytest.raises(SystemExit) as usage_error:
        cli.main(common + ["--seeds", "0", "--lr", "1e-3"])
    assert usage_error.value.code == 2 and "other settings (lr)" in capsys.readouterr().err


def test_compare_shards_merge_into_one_report(tmp_path, core):
    """One process per GPU (--shard I/N) writes the same report: runs merge, in plan order."""
    report_dir = tmp_path / "compare"
    common = ["compare", "--model", "tiny-random-llama", "--device", "cpu", "--seeds", "0,1",
              "--variants", "lora,hyplora-lorentz", "--steps", "1", "--batch-size", "2",
              "--micro-batch-size", "2", "--eval-sets", "mawps", "--eval-limit", "1",
              "--max-new-tokens", "2", "--no-progress", "--output-dir", str(report_dir)]
    assert cli.main(common + ["--shard", "1/2"]) == 0
    half = json.loads((report_dir / "compare.json").read_text())
    assert [(r["seed"], r["variant"]) for r in half["runs"]] == [(0, "hyplora-lorentz"),
                                                                  (1, "hyplora-lorentz")]
    assert half["missing"] == [[0, "lora"], [1, "lora"]]
    assert "Not run (yet): lora seed 0, lora seed 1." in (report_dir / "compare.md").read_text()
    assert cli.main(common + ["--shard", "0/2"]) == 0
    full = json.loads((report_dir / "compare.json").read_text())
    assert [(r["seed"], r["variant"]) for r in full["runs"]] == [
        (0, "lora"), (0, "hyplora-lorentz"), (1, "lora"), (1, "hyplora-lorentz")]
    assert full["runs"][1] == half["runs"][0] and full["missing"] == []
    assert full["summary"]["lora"]["runs"] == 2 and full["summary"]["hyplora-lorentz"]["runs"] == 2
