"""The answer core's thresholds and weights, read from `bot/policy.yaml` once.

Calibration never edits this file in place: `cchc eval --calibrate` writes a proposal beside the
index for a person to review, so a number can change only through a reviewed commit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

POLICY_FILE = Path(__file__).with_name("policy.yaml")


@dataclass
class Policy:
    dense_weight: float = 0.15
    found_threshold: float = 0.575
    strict_threshold: float = 0.8
    guidance_threshold: float = 0.65
    ward_boost: float = 1.5
    other_ward_factor: float = 0.6
    province_boost: float = 1.2
    year_boost: float = 1.3
    other_year_factor: float = 0.7
    newest_plan_boost: float = 1.1
    unnamed_province_factor: float = 0.5
    procedure_threshold: float = 0.5
    procedure_name_coverage: float = 0.5
    procedure_whole_question: float = 0.9
    procedure_whole_question_name: float = 0.25
    procedure_whole_name: float = 0.95
    procedure_whole_name_question: float = 0.4
    procedure_plan_margin: float = 0.05
    procedure_partial_name: float = 0.75
    procedure_name_head: int = 5
    procedure_choice_margin: float = 0.05
    min_information: float = 1.5
    max_body_chars: int = 700
    max_list_items: int = 6

    @classmethod
    def load(cls, path: Path | None = None, **overrides) -> "Policy":
        data = yaml.safe_load(Path(path or POLICY_FILE).read_text(encoding="utf-8")) or {}
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path or POLICY_FILE}: unknown policy keys {sorted(unknown)}")
        return cls(**{**data, **{k: v for k, v in overrides.items() if v is not None}})

    def question_share_needed(self, name_share: float) -> float:
        """The share of the question a procedure's name must cover, given the share of the name the question says:
        `procedure_threshold` up to `procedure_partial_name` (a name said in part may be a sibling's: "hành nghề
        thú y" for "hành nghề dược"), falling in a straight line to `procedure_whole_name_question` at
        `procedure_whole_name` — the more of a name is said, the more of the rest of the question may be the citizen's
        situation ("gia hạn tạm trú" said whole in a long message)."""
        low, high = self.procedure_partial_name, self.procedure_whole_name
        t = min(1.0, max(0.0, (name_share - low) / (high - low)))
        return self.procedure_threshold + t * (self.procedure_whole_name_question - self.procedure_threshold)

    def to_yaml(self) -> str:
        return yaml.safe_dump(asdict(self), allow_unicode=True, sort_keys=False)
