"""Prompt templates of the HypLoRA reference repository (inherited from LLM-Adapters).

Training and evaluation must use the same template, so both import it from here.
The training loss covers only the response: `split_prompt_response` tells the
fine-tuning code where the prompt ends.
"""

NO_INPUT_TEMPLATE = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)
WITH_INPUT_TEMPLATE = (
    "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)


def build_prompt(instruction: str, input_text: str = "") -> str:
    """The prompt part (everything the model is conditioned on), ending in "### Response:\\n"."""
    if input_text:
        return WITH_INPUT_TEMPLATE.format(instruction=instruction, input=input_text)
    return NO_INPUT_TEMPLATE.format(instruction=instruction)


def build_training_text(record: dict) -> tuple:
    """(prompt, response) for one data record with instruction/input/output fields."""
    return build_prompt(record["instruction"], record.get("input", "") or ""), record["output"]
