"""`hyplora eval`: generate answers with the (unmerged) adapter and score them.

Scoring follows LLM-Adapters' evaluate scripts (see answers.py). Generation is
greedy and batched with left padding; prompts are sorted by length so a batch
pads little, and results are put back in data-set order. The adapter is never
merged: HypLoRA is non-linear, so generation runs the adapter's fused forward.
"""
import json
import time
from pathlib import Path

from .answers import answer_kind, extract_answer, is_correct
from .prompts import build_prompt

DEFAULT_MAX_NEW_TOKENS = {"numeric": 256, "letter": 256, "option": 32}


class EvalError(ValueError):
    """An evaluation setting or input that cannot work (the message says why)."""


def generate_responses(model, tokenizer, prompts, batch_size=16, max_new_tokens=256,
                       progress=True, desc="generate"):
    """Greedy responses (the generated text only) for each prompt, in input order."""
    import torch
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise EvalError("batch size must be >= 1")
    device = next(model.parameters()).device
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    responses = [None] * len(prompts)
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    bar = tqdm(total=len(prompts), desc=desc, disable=not progress, dynamic_ncols=True)
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            encoded = tokenizer([prompts[i] for i in chunk], return_tensors="pt", padding=True)
            encoded = {k: v.to(device) for k, v in encoded.items()}
            with torch.no_grad():
                output = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=False,
                                        num_beams=1, pad_token_id=pad_id,
                                        eos_token_id=tokenizer.eos_token_id)
            new_tokens = output[:, encoded["input_ids"].shape[1]:]
            for index, text in zip(chunk, tokenizer.batch_decode(new_tokens, skip_special_tokens=True)):
                responses[index] = text.strip()
            bar.update(len(chunk))
    finally:
        tokenizer.padding_side = previous_side
        bar.close()
    return responses


def evaluate_set(model, tokenizer, set_name, records, batch_size=16, max_new_tokens=None,
                 progress=True) -> dict:
    """Accuracy of the model on one set: {set, kind, correct, total, accuracy, wall_s, samples}."""
    kind = answer_kind(set_name)
    if max_new_tokens is None:
        max_new_tokens = DEFAULT_MAX_NEW_TOKENS[kind]
    prompts = [build_prompt(r["instruction"], r.get("input", "") or "") for r in records]
    start = time.perf_counter()
    responses = generate_responses(model, tokenizer, prompts, batch_size, max_new_tokens,
                                   progress, desc=f"eval {set_name}")
    wall = time.perf_counter() - start
    samples, correct = [], 0
    for record, response in zip(records, responses):
        prediction = extract_answer(set_name, response)
        ok = is_correct(set_name, prediction, record["answer"])
        correct += ok
        samples.append({"instruction": record["instruction"], "answer": str(record["answer"]),
                        "response": response,
                        "prediction": prediction if isinstance(prediction, str) else
                        (None if prediction == float("inf") else prediction),
                        "correct": bool(ok)})
    total = len(records)
    return {"set": set_name, "kind": kind, "correct": correct, "total": total,
            "accuracy": correct / total if total else 0.0, "max_new_tokens": max_new_tokens,
            "wall_s": round(wall, 3), "samples": samples}


def results_table(results, title=None) -> str:
    """Markdown table of per-set accuracy (plus the average when several sets)."""
    lines = [f"### {title}", ""] if title else []
    lines += ["| set | correct / total | accuracy % |", "|---|---:|---:|"]
    for r in results:
        lines.append(f"| {r['set']} | {r['correct']} / {r['total']} | {100 * r['accuracy']:.1f} |")
    if len(results) > 1:
        average = sum(r["accuracy"] for r in results) / len(results)
        lines.append(f"| average | | {100 * average:.1f} |")
    return "\n".join(lines) + "\n"


def write_results(output, results, header: dict) -> tuple:
    """Writes eval.json (summary + per-sample responses) and eval.md; returns their paths.
    `output` is a directory, or a .json path (the .md goes beside it)."""
    output = Path(output)
    json_path = output if output.suffix == ".json" else output / "eval.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    md_path = json_path.with_suffix(".md")
    summary = {**header, "sets": {r["set"]: {k: v for k, v in r.items() if k != "samples"}
                                  for r in results}}
    if len(results) > 1:
        summary["average_accuracy"] = sum(r["accuracy"] for r in results) / len(results)
    summary["samples"] = {r["set"]: r["samples"] for r in results}
    json_path.write_text(json.dumps(summary, indent=2) + "\n")
    md_path.write_text(results_table(results, header.get("title")))
    return json_path, md_path
