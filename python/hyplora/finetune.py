"""`hyplora finetune`: adapter fine-tuning of a causal LM on instruction data.

The recipe is the HypLoRA reference repository's (LLM-Adapters' finetune.py):
Alpaca prompt, loss only on response tokens, EOS appended, cutoff length, batches
padded to a multiple of 8, AdamW with linear warm-up and decay, gradient clipping
at 1.0 as HF Trainer does. Two trainers share the data pipeline and outputs: our
own loop (default: the hot path is just forward/backward/step, easy to profile)
and transformers' Trainer (`--trainer hf`, for users who want its features).

Precision: on CUDA the frozen base model runs in bf16 (or fp16) under autocast
while the adapter parameters stay fp32 (hyplora.inject keeps them so); on the CPU
everything is fp32, the reference path.

Outputs in --output-dir: the adapter (hyplora.save_adapter: safetensors + JSON),
finetune.json (every setting and the summary) and train_log.jsonl (one line per
optimizer step: step, loss, lr, tokens_per_s, wall_s).
"""
import json
import math
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .prompts import build_training_text

IGNORE_INDEX = -100
PAPER_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")
RUN_INFO_FILE = "finetune.json"
TRAIN_LOG_FILE = "train_log.jsonl"


class FinetuneError(ValueError):
    """A fine-tuning setting or input that cannot work (the message says why)."""


@dataclass
class AdapterSettings:
    """What hyplora.HypLoraConfig gets; saved in finetune.json so `eval` can rebuild it."""
    variant: str = "hyplora"
    convention: str = "reference"
    r: int = 32
    alpha: float = 128.0
    curvature: float = 1.0
    dropout: float = 0.05
    target_modules: list = field(default_factory=lambda: list(PAPER_TARGET_MODULES))
    use_rslora: bool = False


@dataclass
class TrainSettings:
    learning_rate: float = 3e-4
    epochs: float = 3.0
    max_steps: int = 0            # optimizer steps; 0 = from epochs
    batch_size: int = 16          # examples per optimizer step
    micro_batch_size: int = 4     # examples per forward/backward
    cutoff_len: int = 256
    warmup_steps: int = -1        # -1 = min(100, 10% of the steps)
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42
    precision: str = "auto"       # auto | fp32 | bf16 | fp16
    trainer: str = "hyplora"      # hyplora | hf
    log_every: int = 1
    progress: bool = True


def hyplora_core():
    """The hyplora package with its model API, or a clear error if it is not built."""
    import hyplora
    missing, why = [], ""
    for name in ("HypLoraConfig", "inject", "save_adapter", "load_adapter"):
        try:
            getattr(hyplora, name)
        except (AttributeError, ImportError) as err:  # ImportError: native library not built
            missing.append(name)
            why = why or str(err)
    if missing:
        raise FinetuneError(f"the hyplora core API is unavailable ({', '.join(missing)}): {why}")
    return hyplora


def make_adapter_config(settings: AdapterSettings):
    return hyplora_core().HypLoraConfig(
        r=settings.r, alpha=settings.alpha, target_modules=list(settings.target_modules),
        dropout=settings.dropout, curvature=settings.curvature, convention=settings.convention,
        variant=settings.variant, use_rslora=settings.use_rslora)


def inject_adapter(model, settings: AdapterSettings):
    """Injects adapters (hyplora.inject freezes everything else); returns the trainable count."""
    try:
        hyplora_core().inject(model, make_adapter_config(settings))
    except ValueError as err:  # e.g. no module matches the target names
        raise FinetuneError(str(err)) from err
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if trainable == 0:
        raise FinetuneError(f"no module of the model matched target modules {settings.target_modules}")
    return trainable


# ---------------------------------------------------------------- data pipeline

def tokenize_example(tokenizer, record: dict, cutoff_len: int) -> dict:
    """input_ids/labels for one record: prompt tokens masked out of the loss, EOS appended
    when it fits (as LLM-Adapters' `tokenize(..., add_eos_token=True)`)."""
    prompt, response = build_training_text(record)
    prompt_ids = tokenizer(prompt).input_ids[:cutoff_len]
    full_ids = tokenizer(prompt + response).input_ids[:cutoff_len]
    eos = tokenizer.eos_token_id
    if eos is not None and len(full_ids) < cutoff_len and (not full_ids or full_ids[-1] != eos):
        full_ids.append(eos)
    prompt_len = min(len(prompt_ids), len(full_ids))
    labels = [IGNORE_INDEX] * prompt_len + full_ids[prompt_len:]
    return {"input_ids": full_ids, "labels": labels}


def tokenize_records(tokenizer, records, cutoff_len: int) -> list:
    """Tokenized examples; records whose response was cut off entirely are dropped
    (they would contribute no loss)."""
    examples = [tokenize_example(tokenizer, record, cutoff_len) for record in records]
    kept = [ex for ex in examples if any(label != IGNORE_INDEX for label in ex["labels"])]
    if not kept:
        raise FinetuneError(f"no example has response tokens within cutoff_len={cutoff_len}")
    return kept


def collate(examples, pad_id: int, multiple: int = 8):
    """Right-padded batch tensors, length rounded up to a multiple of 8 (tensor-core tiles)."""
    import torch
    longest = max(len(ex["input_ids"]) for ex in examples)
    length = int(math.ceil(longest / multiple) * multiple)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), length), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for row, ex in enumerate(examples):
        n = len(ex["input_ids"])
        ids[row, :n] = torch.tensor(ex["input_ids"])
        labels[row, :n] = torch.tensor(ex["labels"])
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def micro_batches(examples, micro_batch_size: int, seed: int):
    """Endless shuffled micro-batches, a new permutation each epoch; yields (epoch, batch)."""
    rng = random.Random(seed)
    epoch = 0
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        for start in range(0, len(order), micro_batch_size):
            yield epoch, [examples[i] for i in order[start:start + micro_batch_size]]
        epoch += 1


# ---------------------------------------------------------------- training

def resolve_precision(precision: str, device) -> str:
    import torch
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision in ("bf16", "fp16") and device.type != "cuda":
        raise FinetuneError(f"precision {precision} needs a CUDA device (the CPU path is fp32)")
    return precision


def plan_steps(n_examples: int, train: TrainSettings) -> tuple:
    """(optimizer steps, gradient-accumulation steps, warm-up steps)."""
    if train.micro_batch_size < 1 or train.batch_size < 1:
        raise FinetuneError("batch_size and micro_batch_size must be >= 1")
    if train.batch_size % train.micro_batch_size:
        raise FinetuneError(f"batch_size {train.batch_size} is not a multiple of "
                            f"micro_batch_size {train.micro_batch_size}")
    accumulation = train.batch_size // train.micro_batch_size
    steps = train.max_steps or int(math.ceil(n_examples * train.epochs / train.batch_size))
    if steps < 1:
        raise FinetuneError("nothing to train: set --steps or --epochs > 0")
    warmup = train.warmup_steps if train.warmup_steps >= 0 else min(100, steps // 10)
    return steps, accumulation, warmup


def linear_schedule(optimizer, warmup: int, total: int):
    import torch

    def factor(step):
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class TrainLog:
    """train_log.jsonl writer; also keeps the records for the summary."""

    def __init__(self, path):
        self.path = Path(path) if path else None
        self.records = []
        if self.path:
            self.path.write_text("")

    def add(self, **record):
        self.records.append(record)
        if self.path:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(record) + "\n")


def train_loop(model, examples, pad_id, train: TrainSettings, log: TrainLog, device):
    """Our trainer. Returns the summary dict (steps, tokens, wall time, first/last loss)."""
    import torch
    from tqdm.auto import tqdm

    precision = resolve_precision(train.precision, device)
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    steps, accumulation, warmup = plan_steps(len(examples), train)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=train.learning_rate, weight_decay=train.weight_decay)
    scheduler = linear_schedule(optimizer, warmup, steps)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    batches = micro_batches(examples, train.micro_batch_size, train.seed)

    model.train()
    model.config.use_cache = False
    start = time.perf_counter()
    total_tokens = 0
    step_rates, first_step_s = [], None
    bar = tqdm(range(steps), desc="finetune", disable=not train.progress, dynamic_ncols=True)
    for step in bar:
        step_start = time.perf_counter()
        step_loss, step_tokens, epoch = 0.0, 0, 0
        for _ in range(accumulation):
            epoch, batch = next(batches)
            batch = {k: v.to(device, non_blocking=True) for k, v in collate(batch, pad_id).items()}
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = model(**batch).loss / accumulation
            if not torch.isfinite(loss):
                raise FinetuneError(f"loss became {loss.item()} at step {step + 1}: lower --lr "
                                    "or use --precision fp32/bf16")
            scaler.scale(loss).backward()
            step_loss += loss.item()
            step_tokens += int(batch["attention_mask"].sum())
        scaler.unscale_(optimizer)
        if train.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, train.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        lr = scheduler.get_last_lr()[0]
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        now = time.perf_counter()
        if step == 0:
            first_step_s = now - step_start
        total_tokens += step_tokens
        tokens_per_s = step_tokens / max(now - step_start, 1e-9)
        step_rates.append(tokens_per_s)
        if (step + 1) % train.log_every == 0 or step + 1 == steps:
            log.add(step=step + 1, epoch=epoch, loss=round(step_loss, 6), lr=lr,
                    tokens_per_s=round(tokens_per_s, 1), wall_s=round(now - start, 3))
        bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{tokens_per_s:.0f}")
    bar.close()
    wall = time.perf_counter() - start
    # The first steps of a new process also compile and autotune the adapter
    # kernels of every layer shape (on the GPU, tens of seconds on a cold cache),
    # so the whole-run rate understates training speed: the median rate of the
    # second half of the steps is the steady one.
    steady = statistics.median(step_rates[len(step_rates) // 2:]) if step_rates else None
    return {"steps": steps, "accumulation": accumulation, "warmup_steps": warmup,
            "precision": precision, "tokens": total_tokens, "train_wall_s": round(wall, 3),
            "tokens_per_s": round(total_tokens / max(wall, 1e-9), 1),
            "first_step_s": None if first_step_s is None else round(first_step_s, 3),
            "steady_tokens_per_s": None if steady is None else round(steady, 1)}


def train_with_hf_trainer(model, tokenizer, examples, train: TrainSettings, log: TrainLog,
                          device, output_dir):
    """transformers.Trainer on the same examples and schedule."""
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainerCallback, TrainingArguments

    precision = resolve_precision(train.precision, device)
    steps, accumulation, warmup = plan_steps(len(examples), train)
    start = time.perf_counter()

    class JsonLinesLog(TrainerCallback):
        def __init__(self):
            self.last = time.perf_counter()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                now = time.perf_counter()
                tokens = logs.get("num_input_tokens_seen")
                log.add(step=state.global_step, loss=logs["loss"], lr=logs.get("learning_rate"),
                        tokens_per_s=None if tokens is None else round(tokens / (now - start), 1),
                        wall_s=round(now - start, 3))

    args = TrainingArguments(
        output_dir=str(Path(output_dir) / "hf_trainer"), per_device_train_batch_size=train.micro_batch_size,
        gradient_accumulation_steps=accumulation, max_steps=steps, learning_rate=train.learning_rate,
        warmup_steps=warmup, weight_decay=train.weight_decay, max_grad_norm=train.max_grad_norm,
        lr_scheduler_type="linear", optim="adamw_torch", logging_steps=train.log_every,
        save_strategy="no", report_to=[], seed=train.seed, bf16=precision == "bf16",
        fp16=precision == "fp16", use_cpu=device.type == "cpu", disable_tqdm=not train.progress,
        remove_unused_columns=False, include_num_input_tokens_seen=True, dataloader_pin_memory=False)
    collator = DataCollatorForSeq2Seq(tokenizer, pad_to_multiple_of=8, return_tensors="pt",
                                      padding=True, label_pad_token_id=IGNORE_INDEX)
    model.config.use_cache = False
    trainer = Trainer(model=model, args=args, train_dataset=examples, data_collator=collator,
                      callbacks=[JsonLinesLog()])
    result = trainer.train()
    wall = time.perf_counter() - start
    tokens = getattr(trainer.state, "num_input_tokens_seen", 0) or 0
    return {"steps": steps, "accumulation": accumulation, "warmup_steps": warmup,
            "precision": precision, "tokens": int(tokens), "train_wall_s": round(wall, 3),
            "tokens_per_s": round(tokens / max(wall, 1e-9), 1),
            "hf_train_loss": float(result.training_loss)}


def finetune(model, tokenizer, records, adapter: AdapterSettings, train: TrainSettings,
             output_dir=None, extra_info=None) -> dict:
    """Injects adapters into `model` (in place), trains them on `records`, saves the
    adapter and logs to output_dir (if given). Returns the run summary."""
    import numpy as np
    import torch

    random.seed(train.seed)
    np.random.seed(train.seed % 2**32)
    torch.manual_seed(train.seed)
    device = next(model.parameters()).device
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
    log = TrainLog(output_dir / TRAIN_LOG_FILE if output_dir is not None else None)

    examples = tokenize_records(tokenizer, records, train.cutoff_len)
    trainable = inject_adapter(model, adapter)
    model.to(device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if train.trainer == "hf":
        summary = train_with_hf_trainer(model, tokenizer, examples, train, log, device, output_dir or ".")
    elif train.trainer == "hyplora":
        summary = train_loop(model, examples, pad_id, train, log, device)
    else:
        raise FinetuneError(f"unknown trainer '{train.trainer}' (use hyplora or hf)")
    model.eval()

    losses = [r["loss"] for r in log.records if r.get("loss") is not None]
    summary.update(examples=len(examples), trainable_parameters=trainable, device=str(device),
                   first_loss=losses[0] if losses else None, last_loss=losses[-1] if losses else None)
    info = {"adapter": asdict(adapter), "train": asdict(train), "summary": summary}
    info.update(extra_info or {})
    if output_dir is not None:
        hyplora_core().save_adapter(model, str(output_dir))
        (output_dir / RUN_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
    return info


def read_run_info(adapter_dir) -> dict:
    path = Path(adapter_dir) / RUN_INFO_FILE
    if not path.is_file():
        raise FinetuneError(f"{adapter_dir} is not a hyplora finetune output (no {RUN_INFO_FILE})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise FinetuneError(f"{path} is corrupt: {err}") from err


def attach_adapter(model, adapter_dir) -> dict:
    """Injects the adapter described by a finetune output dir and loads its weights
    (left unmerged: generation runs the adapter's own forward). Returns the run info."""
    info = read_run_info(adapter_dir)
    settings = AdapterSettings(**info["adapter"])
    inject_adapter(model, settings)
    hyplora_core().load_adapter(model, str(adapter_dir))
    model.eval()
    return info
