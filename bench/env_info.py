"""Who/what/where of a run: card, driver, versions, commit, date."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=REPO)
        return out.stdout.strip() if out.returncode == 0 else None
    except Exception:
        return None


def commit() -> str:
    """$HYP_COMMIT (the GPU machine has no .git), else git rev-parse, else 'unknown'."""
    env = os.environ.get("HYP_COMMIT")
    if env:
        return env.strip()
    sha = _run(["git", "rev-parse", "--short=12", "HEAD"])
    if not sha:
        return "unknown"
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"])
    return sha + ("-dirty" if dirty else "")


def _version(mod: str) -> str | None:
    try:
        m = __import__(mod)
        return getattr(m, "__version__", "?")
    except Exception:
        return None


def collect() -> dict:
    cuda = torch.cuda.is_available()
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "host": platform.node(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "peft": _version("peft"),
        "transformers": _version("transformers"),
        "cuda_available": cuda,
        "card": "cpu",
        "driver": None,
        "l2_bytes": 0,
    }
    if cuda:
        props = torch.cuda.get_device_properties(0)
        info["card"] = torch.cuda.get_device_name(0)
        info["sm"] = f"sm_{props.major}{props.minor}"
        info["memory_bytes"] = props.total_memory
        info["sms"] = props.multi_processor_count
        info["l2_bytes"] = int(getattr(props, "L2_cache_size", 50 * 2**20))
        drv = _run(["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,power.limit",
                    "--format=csv,noheader"])
        if drv:
            parts = [p.strip() for p in drv.splitlines()[0].split(",")]
            info["driver"] = parts[0]
            info["nvidia_smi"] = drv.splitlines()[0]
    else:
        info["cpu"] = platform.processor() or platform.machine()
        info["cpu_threads"] = torch.get_num_threads()
    return info


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower() or "unknown"


def result_stem(meta: dict) -> str:
    """<date>-<card>-<commit>, the name results are filed under (docs/BENCHMARKS.md)."""
    commit = meta["commit"]
    dirty = commit.endswith("-dirty")
    short = commit[:-len("-dirty")] if dirty else commit
    if len(short) >= 12 and all(c in "0123456789abcdef" for c in short.lower()):
        short = short[:12]  # a full sha from $HYP_COMMIT: the short form names the files
    return f"{meta['date'][:10]}-{slug(meta['card'])}-{slug(short + ('-dirty' if dirty else ''))}"
