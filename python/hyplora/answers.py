"""Answer extraction and scoring, in the style of LLM-Adapters' evaluate scripts.

The paper's numbers come from these rules, so they are reproduced as written,
including their crudeness (documented per function) rather than "improved":
an improved extractor would make our accuracies incomparable with the paper's.
"""
import math
import re

# Which rule scores which data set. Keys are lower-case set names.
NUMERIC_SETS = {"gsm8k", "svamp", "mawps", "multiarith", "addsub", "singleeq"}
LETTER_SETS = {"aqua"}
OPTION_PATTERNS = {
    "boolq": ("true", "false"),
    "piqa": ("solution1", "solution2"),
    "social_i_qa": ("answer1", "answer2", "answer3", "answer4", "answer5"),
    "arc-challenge": ("answer1", "answer2", "answer3", "answer4", "answer5"),
    "arc-easy": ("answer1", "answer2", "answer3", "answer4", "answer5"),
    "openbookqa": ("answer1", "answer2", "answer3", "answer4", "answer5"),
    "hellaswag": ("ending1", "ending2", "ending3", "ending4"),
    "winogrande": ("option1", "option2"),
}
NUMERIC_TOLERANCE = 1e-3  # LLM-Adapters' `miss = 0.001`

_NUMBER = re.compile(r"-?\d+\.?\d*")


def answer_kind(set_name: str) -> str:
    """'numeric', 'letter' or 'option' for a data set name; ValueError if unknown."""
    key = set_name.lower()
    if key in NUMERIC_SETS:
        return "numeric"
    if key in LETTER_SETS:
        return "letter"
    if key in OPTION_PATTERNS:
        return "option"
    known = sorted(NUMERIC_SETS | LETTER_SETS | set(OPTION_PATTERNS))
    raise ValueError(f"no answer rule for data set '{set_name}' (known: {', '.join(known)})")


def extract_number(text: str) -> float:
    """The last number in the text, commas removed; inf when there is none.

    As LLM-Adapters: the regex also matches "3." at a sentence end (read as 3.0).
    """
    numbers = _NUMBER.findall(text.replace(",", ""))
    if not numbers:
        return math.inf
    try:
        return float(numbers[-1])
    except ValueError:
        return math.inf


def extract_letter(text: str) -> str:
    """The first capital A-E anywhere in the text ('' if none).

    As LLM-Adapters (AQuA): crude on purpose: "A train ..." yields "A".
    """
    found = re.findall(r"A|B|C|D|E", text.strip())
    return found[0] if found else ""


def extract_option(set_name: str, text: str) -> str:
    """The first of the set's option tokens (e.g. answer1..answer5) in the text ('' if none)."""
    options = OPTION_PATTERNS[set_name.lower()]
    found = re.findall("|".join(options), text.strip())
    return found[0] if found else ""


def extract_answer(set_name: str, text: str):
    """The prediction the set's rule reads from a generated response."""
    kind = answer_kind(set_name)
    if kind == "numeric":
        return extract_number(text)
    if kind == "letter":
        return extract_letter(text)
    return extract_option(set_name, text)


def is_correct(set_name: str, prediction, gold) -> bool:
    """Scores one prediction against the record's `answer` field."""
    kind = answer_kind(set_name)
    if kind == "numeric":
        try:
            gold_value = float(gold)
        except (TypeError, ValueError):
            raise ValueError(f"gold answer {gold!r} of numeric set '{set_name}' is not a number")
        return math.isfinite(prediction) and abs(gold_value - prediction) <= NUMERIC_TOLERANCE
    return prediction == str(gold).strip()
