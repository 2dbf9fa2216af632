"""The data sets hyplora ships (data/ at the repository root) and how to load them.

Every loader returns a list of records {instruction, input, output, answer}, the
format of the HypLoRA reference repository. MAWPS train/valid keep their original
MAWPS fields in the files (original_text, equation, ans) so they stay byte-equal
to the published sets; they are converted here, on load.
"""
import json
import os
import re
from pathlib import Path

# Canonical name -> {split: file name}. Names are matched case-insensitively.
DATASETS = {
    "mawps": {"train": "trainset.json", "valid": "validset.json", "test": "test.json"},
    "SVAMP": {"test": "test.json"},
    "gsm8k": {"test": "test.json"},
    "AQuA": {"test": "test.json"},
    "boolq": {"test": "test.json"},
    "piqa": {"test": "test.json"},
    "social_i_qa": {"test": "test.json"},
    "ARC-Easy": {"test": "test.json"},
    "ARC-Challenge": {"test": "test.json"},
    "openbookqa": {"test": "test.json"},
    "winogrande": {"test": "test.json"},
}
MATH_TEST_SETS = ("mawps", "SVAMP", "gsm8k", "AQuA")
COMMONSENSE_TEST_SETS = ("boolq", "piqa", "social_i_qa", "ARC-Challenge", "ARC-Easy",
                         "openbookqa", "winogrande")
# Training mixtures available here. The paper's Math10K / Commonsense170K are not
# shipped (size); "math" is every math train split we have.
TRAIN_MIXTURES = {"math": (("mawps", "train"),)}

REQUIRED_FIELDS = ("instruction", "output", "answer")


class DataError(ValueError):
    """A data set name, split or file that cannot be used (the message says why)."""


def data_root() -> Path:
    """$HYP_DATA_DIR, else data/ of the source tree this package lives in."""
    env = os.environ.get("HYP_DATA_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "data"
    if not root.is_dir():
        raise DataError(f"data directory {root} not found (set HYP_DATA_DIR to the repository's data/)")
    return root


def canonical_name(name: str) -> str:
    for known in DATASETS:
        if known.lower() == name.lower():
            return known
    raise DataError(f"unknown data set '{name}' (known: {', '.join(DATASETS)}, "
                    f"mixtures: {', '.join(TRAIN_MIXTURES)}, or a path to a .json file)")


def _format_number(value) -> str:
    """2.0 -> '2', 0.6667 -> '0.6667': how a person writes the answer."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _clean_equation(equation: str) -> str:
    return re.sub(r"(\d+)\.0(?!\d)", r"\1", equation.strip())


def convert_mawps_record(raw: dict) -> dict:
    """An original MAWPS record -> the instruction format; the response states the
    equation and ends in "The answer is N." (what the numeric extractor reads)."""
    try:
        answer = _format_number(raw["ans"])
        equation = _clean_equation(raw["equation"])
        question = raw["original_text"].strip()
    except (KeyError, ValueError, TypeError) as err:
        raise DataError(f"malformed MAWPS record {raw.get('id', '?')}: {err!r}") from err
    return {"instruction": question, "input": "",
            "output": f"{equation}\nThe answer is {answer}.", "answer": answer}


def load_json_records(path) -> list:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
    except OSError as err:
        raise DataError(f"cannot read data file {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise DataError(f"data file {path} is not valid JSON: {err}") from err
    if not isinstance(records, list) or not records:
        raise DataError(f"data file {path} must hold a non-empty JSON list of records")
    converted = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"{path}: record {index} is not an object")
        if "original_text" in record and "instruction" not in record:
            record = convert_mawps_record(record)
        missing = [field for field in REQUIRED_FIELDS if field not in record]
        if missing:
            raise DataError(f"{path}: record {index} lacks field(s) {', '.join(missing)}")
        record = dict(record)
        record.setdefault("input", "")
        converted.append(record)
    return converted


def dataset_path(name: str, split: str = "test") -> Path:
    canonical = canonical_name(name)
    splits = DATASETS[canonical]
    if split not in splits:
        raise DataError(f"data set '{canonical}' has no '{split}' split (has: {', '.join(splits)})")
    return data_root() / canonical / splits[split]


def load_dataset(name_or_path: str, split: str = "test") -> list:
    """Records of a shipped set (name + split), a mixture name, or a .json file path."""
    if name_or_path.lower().endswith(".json") or os.sep in name_or_path:
        return load_json_records(name_or_path)
    if name_or_path.lower() in TRAIN_MIXTURES:
        if split != "train":
            raise DataError(f"'{name_or_path}' is a training mixture: it has only a train split")
        records = []
        for name, part in TRAIN_MIXTURES[name_or_path.lower()]:
            records.extend(load_json_records(dataset_path(name, part)))
        return records
    return load_json_records(dataset_path(name_or_path, split))


def set_name_of(name_or_path: str) -> str:
    """The name that picks the answer rule: canonical set name, or the file's folder name."""
    if name_or_path.lower().endswith(".json") or os.sep in name_or_path:
        return Path(name_or_path).resolve().parent.name
    return canonical_name(name_or_path)
