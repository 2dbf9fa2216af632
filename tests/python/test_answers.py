"""Answer extraction and scoring (LLM-Adapters' rules, hyplora/answers.py)."""
import math

import pytest

from hyplora.answers import (answer_kind, extract_answer, extract_letter, extract_number,
                             extract_option, is_correct)


@pytest.mark.parametrize("text, expected", [
    ("X=((22-14)/4)\nThe answer is 2.", 2.0),
    ("He pays 1,250 dollars, then 3 more. The answer is 1,253", 1253.0),
    ("The difference is -4.5 degrees", -4.5),
    ("so 7 apples", 7.0),
    ("The answer is 3.", 3.0),       # "3." is read as 3.0, as the reference regex does
    ("first 12 then 0.75", 0.75),     # the LAST number counts
])
def test_extract_number_takes_the_last_number(text, expected):
    assert extract_number(text) == expected


def test_extract_number_without_digits_is_inf():
    assert extract_number("I do not know") == math.inf
    assert not is_correct("gsm8k", math.inf, "3")


def test_numeric_tolerance_is_one_thousandth():
    assert is_correct("mawps", 1.8333, "1.8333333333333335")
    assert is_correct("SVAMP", 8.0, "8.0")
    assert not is_correct("mawps", 1.83, "1.8333333333333335")
    assert not is_correct("gsm8k", 577.0, "576.0")


def test_letter_is_first_capital_a_to_e():
    assert extract_letter("The answer is (D).") == "D"
    assert extract_letter("  (B) 1000") == "B"
    assert extract_letter("no capitals here") == ""
    # The reference rule is crude on purpose (comparability): an article "A" wins.
    assert extract_letter("A train goes; answer (C)") == "A"
    assert is_correct("AQuA", extract_answer("AQuA", "so (E)"), "E")


@pytest.mark.parametrize("set_name, text, expected", [
    ("boolq", "the correct answer is false", "false"),
    ("boolq", "True, it is true", "true"),     # case-sensitive as the reference
    ("piqa", "the correct answer is solution2", "solution2"),
    ("social_i_qa", "answer3 because answer1 is wrong", "answer3"),
    ("ARC-Challenge", "the correct answer is answer4", "answer4"),
    ("ARC-Easy", "answer1", "answer1"),
    ("openbookqa", "I pick answer2.", "answer2"),
    ("winogrande", "option2", "option2"),
    ("winogrande", "neither", ""),
])
def test_option_is_first_matching_token(set_name, text, expected):
    assert extract_option(set_name, text) == expected
    if expected:
        assert is_correct(set_name, extract_answer(set_name, text), expected)
        assert not is_correct(set_name, extract_answer(set_name, text), expected[:-1] + "9")


def test_set_names_are_case_insensitive_and_unknown_sets_are_refused():
    assert answer_kind("GSM8K") == "numeric"
    assert answer_kind("aqua") == "letter"
    assert answer_kind("Winogrande") == "option"
    with pytest.raises(ValueError, match="no answer rule for data set 'mathqa'"):
        answer_kind("mathqa")


def test_non_numeric_gold_of_numeric_set_is_a_clear_error():
    with pytest.raises(ValueError, match="not a number"):
        is_correct("gsm8k", 3.0, "three")
