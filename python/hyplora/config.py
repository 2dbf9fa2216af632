"""HypLoraConfig: what to inject where (the PEFT LoraConfig of hyplora)."""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, Sequence, Tuple, Union

VARIANTS = ("hyplora", "hyplora_simplified", "lora")
CONVENTIONS = ("reference", "lorentz")
# The paper's target modules (HYPLORA.md section 1).
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "up_proj", "down_proj")


@dataclasses.dataclass
class HypLoraConfig:
    r: int = 32
    alpha: float = 128.0
    target_modules: Union[Tuple[str, ...], str] = DEFAULT_TARGETS
    dropout: float = 0.0
    curvature: float = 1.0          # raw k at init ("hyplora-1.0")
    convention: str = "reference"
    variant: str = "hyplora"
    use_rslora: bool = False
    max_sinh_arg: float = 12.0

    def __post_init__(self):
        if isinstance(self.target_modules, (list, tuple, set)):
            self.target_modules = tuple(self.target_modules)
        elif not isinstance(self.target_modules, str):
            raise TypeError("HypLoraConfig.target_modules must be a list of module names or a "
                            f"regex string, got {type(self.target_modules).__name__}")
        if not isinstance(self.r, int) or self.r <= 0:
            raise ValueError(f"HypLoraConfig.r must be a positive int, got {self.r!r}")
        if not math.isfinite(float(self.alpha)):
            raise ValueError(f"HypLoraConfig.alpha must be finite, got {self.alpha!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"HypLoraConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not math.isfinite(float(self.curvature)):
            raise ValueError(f"HypLoraConfig.curvature must be finite, got {self.curvature!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"HypLoraConfig.variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.convention not in CONVENTIONS:
            raise ValueError(f"HypLoraConfig.convention must be one of {CONVENTIONS}, "
                             f"got {self.convention!r}")
        if not (float(self.max_sinh_arg) > 0 and math.isfinite(float(self.max_sinh_arg))):
            raise ValueError(f"HypLoraConfig.max_sinh_arg must be positive, got {self.max_sinh_arg!r}")

    @property
    def scaling(self) -> float:
        return self.alpha / (math.sqrt(self.r) if self.use_rslora else self.r)

    @property
    def lora_type(self) -> str:
        """The reference implementation's spelling: "hyplora-1.0", "std", ..."""
        return "std" if self.variant == "lora" else f"{self.variant}-{self.curvature}"

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["target_modules"] = (list(self.target_modules)
                               if not isinstance(self.target_modules, str) else self.target_modules)
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "HypLoraConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ValueError(f"hyplora config has unknown fields {sorted(unknown)}")
        return cls(**d)

    @classmethod
    def from_reference(cls, adapter_config: Dict[str, Any]) -> "HypLoraConfig":
        """From the reference implementation's (PEFT fork) adapter_config.json."""
        lora_type = str(adapter_config.get("lora_type", "std"))
        parts = lora_type.split("-")
        kind = parts[0]
        variant = {"std": "lora", "hyplora": "hyplora",
                   "hyplora_simplified": "hyplora_simplified"}.get(kind)
        if variant is None:
            raise ValueError(f"reference adapter has lora_type {lora_type!r}; supported: std, "
                             "hyplora-<k>, hyplora_simplified-<k>")
        try:
            curvature = float(parts[1]) if len(parts) > 1 else 1.0
        except ValueError:
            raise ValueError(f"reference adapter lora_type {lora_type!r}: curvature is not a number")
        targets = adapter_config.get("target_modules") or DEFAULT_TARGETS
        return cls(r=int(adapter_config.get("r", 8)),
                   alpha=float(adapter_config.get("lora_alpha", 8)),
                   target_modules=targets if isinstance(targets, str) else tuple(targets),
                   dropout=float(adapter_config.get("lora_dropout", 0.0) or 0.0),
                   curvature=curvature, convention="reference", variant=variant,
                   use_rslora=bool(adapter_config.get("use_rslora", False)))

    def matches(self, name: str) -> bool:
        """PEFT's rule: a regex string must fullmatch the module path; a list
        matches when the path equals a target or ends with "." + target."""
        import re
        if isinstance(self.target_modules, str):
            return re.fullmatch(self.target_modules, name) is not None
        return any(name == t or name.endswith("." + t) for t in self.target_modules)

    def differences(self, other: "HypLoraConfig",
                    fields: Sequence[str] = ("r", "alpha", "variant", "convention", "use_rslora",
                                             "max_sinh_arg")) -> Dict[str, Tuple[Any, Any]]:
        """Fields (that change the adapter's function or shapes) where the two differ."""
        return {f: (getattr(self, f), getattr(other, f)) for f in fields
                if getattr(self, f) != getattr(other, f)}
