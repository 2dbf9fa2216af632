"""Reads what the runtime says about autotuning, whatever shape it takes.

Sources, best first:
1. an API of ``hyplora._C`` returning the tuning records (names tried in
   ``API_NAMES``), as a list of dicts or as text lines;
2. the lines the runtime prints with ``HYP_PRINT_AUTOTUNING=1`` (captured from
   file descriptors 1 and 2 around our contenders' first calls).

The format is not fixed by CONTRACTS.md, so parsing is defensive. The
runtime (runtime/lib/Program.cpp) prints blocks like
    hyprt: autotune hyp_fwd_down [sm_90, M=1024,K=4096,] 6 candidates in 212.4 ms (no disk cache)
    hyprt:   * BLOCK_M=16,THREADS=128                   0.0123 ms
    hyprt:     BLOCK_M=32,THREADS=256                   0.0150 ms
    hyprt:     BLOCK_M=64,THREADS=256                   failed: too many resources
    hyprt: autotune hyp_fwd_down [sm_90]: BLOCK_M=16,THREADS=128 from the tuning file (0.0123 ms then)
    hyprt: autotune hyp_fwd_down: every candidate failed; using the default config
which ``parse_text`` reads with a small state machine (the candidate lines
do not repeat the kernel name). The default config is not printed: it comes
from the kernel metadata (``defaults_from_metadata``). Also understood, as a
fallback (e.g. another runtime version), one JSON object per line: (suggested to the runtime) is one JSON object per line,
optionally after a tag:
    [hyp-autotune] {"event": "trial", "kernel": "k", "bucket": "...",
                    "config": {"BLOCK_M": 16}, "time_us": 12.5, "default": true,
                    "status": "ok"}
    [hyp-autotune] {"event": "choice", "kernel": "k", "bucket": "...",
                    "config": {...}, "time_us": 9.1, "default_time_us": 12.5,
                    "tuning_ms": 410}
Text lines such as ``autotune hyp_fwd_down BLOCK_M=16 THREADS=128 time=12.5us``
are understood too (kernel = first identifier-like word after the tag, config
= UPPER_CASE=int pairs, time with its unit; a line that says best / chosen /
winner / selected is a choice). Lines that cannot be read are kept raw.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from typing import Any, Iterator

API_NAMES = ("autotune_log", "autotune_records", "get_autotune_log", "tuning_records",
             "autotune_report", "get_tuning_log")

_TIME_RE = re.compile(r"\b(?:time|t|median|best_time|elapsed)\s*[=:]\s*([0-9.eE+-]+)\s*(us|µs|ms|s)?\b")
_BARE_TIME_RE = re.compile(r"\b([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*(us|µs|ms)\b")
_CFG_RE = re.compile(r"\b([A-Z][A-Z0-9_]*)\s*=\s*(-?[0-9]+)\b")
_KV_RE = re.compile(r"\b([a-z_]+)\s*=\s*([^\s,;]+)")
_CHOICE_WORDS = re.compile(r"\b(best|chosen|choice|winner|selected|picked|tuned)\b", re.I)
_FAIL_WORDS = re.compile(r"\b(fail(ed)?|error|invalid|inf)\b", re.I)
_TAG_WORDS = re.compile(r"autotun|tuning|\btune\b", re.I)


def mentions_tuning(line: str) -> bool:
    return bool(_TAG_WORDS.search(line))


def _to_us(value: float, unit: str | None) -> float:
    return {"ms": 1e3, "s": 1e6}.get((unit or "us").lower(), 1.0) * value


def _normalize(obj: dict, raw: str) -> dict:
    """Map a JSON record with any of the plausible key spellings to ours."""
    def first(*keys, default=None):
        for k in keys:
            if k in obj and obj[k] is not None:
                return obj[k]
        return default

    time_us = first("time_us", "us")
    if time_us is None and first("time_ms", "ms") is not None:
        time_us = float(first("time_ms", "ms")) * 1e3
    if time_us is None and isinstance(obj.get("time"), (int, float)):
        time_us = float(obj["time"])  # unit unknown: assume microseconds
    event = str(first("event", "kind", "type", default="")).lower()
    is_choice = event in ("choice", "chosen", "winner", "best", "select", "selected") or \
        bool(first("winner", "chosen", default=False)) and "trial" not in event
    cfg = first("config", "cfg", "tunables", default={})
    if isinstance(cfg, str):
        cfg = config_from_string(cfg)
    elif not isinstance(cfg, dict):
        cfg = {"value": cfg}
    status = first("status", default=None)
    if status is None:
        # A non-empty error means the config did not run: its time means nothing.
        status = "failed" if first("error", "reason", default=None) else "ok"
    if status != "ok":
        time_us = None
    tuning_ms = first("tuning_ms", default=None)
    if tuning_ms is None and first("tuning_s", default=None) is not None:
        tuning_ms = float(obj["tuning_s"]) * 1e3
    default_time_us = first("default_time_us", default=None)
    if default_time_us is None and first("default_time_ms", default=None) is not None:
        default_time_us = float(obj["default_time_ms"]) * 1e3
    return {
        "kind": "choice" if is_choice else "trial",
        "kernel": str(first("kernel", "name", "kernel_name", default="?")),
        "bucket": first("bucket", "shape", "key", default=None),
        "config": cfg,
        "time_us": None if time_us is None else float(time_us),
        "status": str(status),
        "reason": first("reason", "error", default=None),
        "default": first("default", "is_default", default=None),
        "default_time_us": default_time_us,
        "tuning_ms": tuning_ms,
        "raw": raw,
    }


def parse_line(line: str) -> dict | None:
    """One normalized record, or None if the line says nothing about tuning."""
    text = line.strip()
    if not text:
        return None
    brace = text.find("{")
    if brace >= 0:
        try:
            obj = json.loads(text[brace:])
        except ValueError:
            obj = None
        if isinstance(obj, dict) and (_TAG_WORDS.search(text[:brace]) or "kernel" in obj
                                      or "config" in obj):
            return _normalize(obj, text)
    if not _TAG_WORDS.search(text):
        return None
    cfg = {k: int(v) for k, v in _CFG_RE.findall(text)}
    kv = dict(_KV_RE.findall(text))
    m = _TIME_RE.search(text) or _BARE_TIME_RE.search(text)
    time_us = _to_us(float(m.group(1)), m.group(2)) if m else None
    kernel = kv.get("kernel")
    if kernel is None:
        # First identifier after the tag that is not a config key or a keyword.
        after = _TAG_WORDS.split(text, maxsplit=1)[-1]
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", after):
            if word.isupper() or word.lower() in ("ing", "ed", "e", "kernel", "config", "time",
                                                   "us", "ms", "best", "chosen", "winner",
                                                   "selected", "default", "bucket", "for"):
                continue
            kernel = word
            break
    failed = bool(_FAIL_WORDS.search(text)) and time_us is None
    return {
        "kind": "choice" if _CHOICE_WORDS.search(text) else "trial",
        "kernel": kernel or "?",
        "bucket": kv.get("bucket"),
        "config": cfg,
        "time_us": time_us,
        "status": "failed" if failed else "ok",
        "reason": None,
        "default": True if re.search(r"\bdefault\b", text, re.I) and "default_time" not in text else None,
        "default_time_us": None,
        "tuning_ms": None,
        "raw": text,
    }


def config_from_string(text: str) -> dict:
    """'BLOCK_M=16,THREADS=128' -> {'BLOCK_M': 16, 'THREADS': 128} (non-ints kept as text)."""
    out = {}
    for part in text.strip().strip(",").split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            try:
                out[k.strip()] = int(v)
            except ValueError:
                out[k.strip()] = v.strip()
    return out


_HYPRT_HEADER = re.compile(r"hyprt: autotune (\S+) \[([^,\]]+),\s*([^\]]*)\] (\d+) candidates in "
                           r"([0-9.eE+-]+) ms(?: \((.*)\))?")
_HYPRT_TRIAL = re.compile(r"hyprt:\s+(\*\s+)?(\S*=\S*)?\s+([0-9.eE+-]+) ms\s*$")
_HYPRT_FAILED = re.compile(r"hyprt:\s+(\S*=\S*)?\s*failed: (.*)$")
_HYPRT_FILE = re.compile(r"hyprt: autotune (\S+) \[([^\]]*)\]: (\S*) from the tuning file "
                         r"\(([0-9.eE+-]+) ms then\)")
_HYPRT_DEFAULT = re.compile(r"hyprt: autotune (\S+): (.*); using the default config")


def _rec(kind, kernel, bucket, config, time_us, status="ok", reason=None, raw="", **extra):
    r = {"kind": kind, "kernel": kernel, "bucket": bucket, "config": config, "time_us": time_us,
         "status": status, "reason": reason, "default": None, "default_time_us": None,
         "tuning_ms": None, "raw": raw}
    r.update(extra)
    return r


def parse_text(text: str) -> tuple[list[dict], list[str]]:
    """Records from captured output, and the tuning-looking lines not understood."""
    records, unparsed = [], []
    block = None  # (kernel, bucket, choice record) of the hyprt block being read
    for line in text.splitlines():
        s = line.strip()
        try:
            m = _HYPRT_HEADER.search(s)
            if m:
                kernel, arch, ints, n, ms, why = m.groups()
                choice = _rec("choice", kernel, f"{arch} {ints.strip(',')}", {}, None, raw=s,
                              source="tuned", n_candidates=int(n), why_tuned=why)
                choice["tuning_ms"] = float(ms)
                records.append(choice)
                block = (kernel, choice["bucket"], choice)
                continue
            if block and s.startswith("hyprt:") and "autotune" not in s:
                m = _HYPRT_TRIAL.search(s)
                if m:
                    star, cfg, ms = m.groups()
                    cfg_d = config_from_string(cfg or "")
                    records.append(_rec("trial", block[0], block[1], cfg_d, float(ms) * 1e3, raw=s))
                    if star:
                        block[2]["config"], block[2]["time_us"] = cfg_d, float(ms) * 1e3
                    continue
                m = _HYPRT_FAILED.search(s)
                if m:
                    records.append(_rec("trial", block[0], block[1], config_from_string(m.group(1) or ""),
                                        None, "failed", m.group(2), raw=s))
                    continue
            block = None
            m = _HYPRT_FILE.search(s)
            if m:
                records.append(_rec("choice", m.group(1), m.group(2), config_from_string(m.group(3)),
                                    float(m.group(4)) * 1e3, raw=s, source="tuning-file"))
                continue
            m = _HYPRT_DEFAULT.search(s)
            if m:
                records.append(_rec("choice", m.group(1), None, {}, None, "default", m.group(2), raw=s,
                                    source="default"))
                continue
            rec = parse_line(line)
        except Exception:  # never let a strange line stop the bench
            rec = None
        if rec is not None:
            records.append(rec)
        elif _TAG_WORDS.search(line):
            unparsed.append(s)
    return records, unparsed


def defaults_from_metadata(metadata_json: str) -> dict:
    """{kernel: {tunable: default}} from the compiler's metadata (CONTRACTS.md section 2)."""
    meta = json.loads(metadata_json)
    return {k["name"]: {t["name"]: t.get("default") for t in k.get("tunables", [])}
            for k in meta.get("kernels", [])}


def mark_defaults(records: list[dict], defaults: dict) -> None:
    """Flag the trials whose config is the kernel's default config (in place)."""
    for r in records:
        d = defaults.get(r["kernel"])
        if d is None:
            continue
        r["default_config"] = d
        if r["kind"] == "trial" and r["config"] and _cfg_key(r["config"]) == _cfg_key(d):
            r["default"] = True


def _cfg_key(cfg: dict) -> str:
    return json.dumps(cfg, sort_keys=True)


def summarize(records: list[dict]) -> list[dict]:
    """Per (kernel, bucket, context): configs tried, their times, the winner, speedup vs default."""
    groups: dict[tuple, list[dict]] = {}
    for rec in records:
        key = (rec["kernel"], str(rec.get("bucket")), rec.get("context"))
        groups.setdefault(key, []).append(rec)
    out = []
    for (kernel, bucket, context), recs in groups.items():
        trials = [r for r in recs if r["kind"] == "trial"]
        choices = [r for r in recs if r["kind"] == "choice"]
        ok = [r for r in trials if r["time_us"] is not None and r["status"] == "ok"]
        choice = choices[-1] if choices else None
        if choice and choice["config"]:
            winner_cfg = choice["config"]
            winner_t = choice["time_us"]
            if winner_t is None:
                same = [r["time_us"] for r in ok if _cfg_key(r["config"]) == _cfg_key(winner_cfg)]
                winner_t = min(same) if same else None
        elif ok:
            best = min(ok, key=lambda r: r["time_us"])
            winner_cfg, winner_t = best["config"], best["time_us"]
        else:
            winner_cfg, winner_t = None, None
        default_t = choice.get("default_time_us") if choice else None
        default_cfg = None
        defaults = [r for r in trials if r.get("default")]
        if defaults:
            default_cfg = defaults[0]["config"]
            if default_t is None:
                default_t = defaults[0]["time_us"]
        else:
            default_cfg = next((r["default_config"] for r in recs if r.get("default_config")), None)
        speedup = (default_t / winner_t) if default_t and winner_t else None
        out.append({
            "kernel": kernel,
            "bucket": None if bucket == "None" else bucket,
            "context": context,
            "tried": [{"config": r["config"], "time_us": r["time_us"], "status": r["status"],
                       "reason": r.get("reason")} for r in trials],
            "n_tried": len(trials),
            "n_failed": sum(1 for r in trials if r["status"] != "ok"),
            "winner": winner_cfg,
            "winner_time_us": winner_t,
            "default": default_cfg,
            "default_time_us": default_t,
            "speedup_vs_default": speedup,
            "tuning_ms": choice.get("tuning_ms") if choice else None,
            "source": choice.get("source") if choice else None,
        })
    return out


def api_records(hyplora_module: Any) -> tuple[str | None, list[dict]]:
    """Records from a tuning-log API of hyplora._C, if one exists."""
    c_mod = getattr(hyplora_module, "_C", None) if hyplora_module is not None else None
    if c_mod is None:
        return None, []
    for name in API_NAMES:
        fn = getattr(c_mod, name, None)
        if not callable(fn):
            continue
        try:
            value = fn()
        except Exception:
            continue
        if isinstance(value, str):
            return f"hyplora._C.{name}()", parse_text(value)[0]
        if isinstance(value, dict):
            value = value.get("records", [value])
        if isinstance(value, (list, tuple)):
            recs = []
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("candidates"), list):
                    # One ChosenConfig of the runtime (runtime/include/hyp/Runtime/Runtime.h):
                    # the choice, and the candidates it was tuned among.
                    choice = _normalize({**item, "event": "choice",
                                         "time_ms": item.get("best_ms") or item.get("time_ms")},
                                        json.dumps(item, default=str)[:500])
                    choice["source"] = item.get("source")
                    recs.append(choice)
                    for cand in item["candidates"]:
                        if isinstance(cand, dict):
                            recs.append(_normalize({"kernel": choice["kernel"], "bucket": choice["bucket"],
                                                    "event": "trial", **cand},
                                                   json.dumps(cand, default=str)))
                elif isinstance(item, dict):
                    recs.append(_normalize(item, json.dumps(item, default=str)))
                elif isinstance(item, str):
                    rec = parse_line(item)
                    if rec:
                        recs.append(rec)
            return f"hyplora._C.{name}()", recs
    return None, []


class Captured:
    text: str = ""


@contextlib.contextmanager
def capture_fds(echo: bool = True) -> Iterator[Captured]:
    """Capture what C/C++ code writes to fds 1 and 2 (Python's sys.std* too).

    The runtime prints from C++, which Python's redirect_stdout cannot see, so
    the file descriptors themselves are redirected to a temporary file. The
    text is echoed to stderr afterwards so nothing is lost for the reader.
    """
    holder = Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    tmp = tempfile.TemporaryFile(mode="w+b")
    try:
        for fd in (1, 2):
            os.dup2(tmp.fileno(), fd)
        yield holder
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        for fd, old in saved.items():
            os.dup2(old, fd)
            os.close(old)
        tmp.seek(0)
        holder.text = tmp.read().decode("utf-8", errors="replace")
        tmp.close()
        if echo and holder.text:
            sys.stderr.write(holder.text if holder.text.endswith("\n") else holder.text + "\n")
            sys.stderr.flush()
