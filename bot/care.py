"""Care before answers: emergencies, a request for a person, rude words. Data in bot/care.yaml (with notes).

These run before the answer core, on every channel: an emergency word gets 113/114/115 first, whatever
else the message asks; "gặp cán bộ" gets the ward's service centre; a rude message gets a calm reply.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CARE_FILE = Path(__file__).with_name("care.yaml")


def fold(text: str) -> str:
    """Lower case without accents ("Hỏa hoạn" → "hoa hoan")."""
    t = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in t if unicodedata.category(ch) != "Mn")


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", unicodedata.normalize("NFC", text.lower()))) + " "


@dataclass(frozen=True)
class Phrases:
    accented: tuple[str, ...]
    folded: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()

    def found(self, text: str) -> list[str]:
        """The phrases present as whole words, after removing the look-alike exceptions."""
        words = _words(text)
        for phrase in self.exceptions:
            words = words.replace(_words(phrase), " ")
        folded = fold(words)
        hits = [p for p in self.accented if _words(p) in words]
        hits += [p for p in self.folded if _words(p) in folded]
        return hits


@dataclass(frozen=True)
class Care:
    emergencies: tuple[tuple[str, Phrases], ...]  # (number, phrases)
    handoff: Phrases
    rude: Phrases

    def emergency_numbers(self, text: str) -> list[str]:
        """113/114/115 for the emergencies the message names, most urgent first as listed in the file."""
        return [number for number, phrases in self.emergencies if phrases.found(text)]

    def wants_person(self, text: str) -> bool:
        return bool(self.handoff.found(text))

    def is_rude(self, text: str) -> bool:
        return bool(self.rude.found(text))

    def without_rude(self, text: str) -> str:
        """The message with its rude words taken out (what is left may still be a question)."""
        words = _words(text)
        for phrase in sorted(self.rude.accented, key=len, reverse=True):
            words = words.replace(_words(phrase), " ")
        return " ".join(words.split())


def _phrases(entry: dict, where: str) -> Phrases:
    if not isinstance(entry.get("note"), str) or not entry.get("examples"):
        raise ValueError(f"{CARE_FILE.name}: {where} needs a note and examples")
    return Phrases(tuple(entry.get("phrases") or ()), tuple(entry.get("folded") or ()), tuple(entry.get("not") or ()))


@lru_cache(maxsize=4)
def load_care(path: Path = CARE_FILE) -> Care:
    """Read and check the care lexicon: each entry must catch its own examples."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    emergencies = tuple((str(e["number"]), _phrases(e, f"emergency {e.get('number')}")) for e in data["emergencies"])
    care = Care(emergencies, _phrases(data["handoff"], "handoff"), _phrases(data["rude"], "rude"))
    for (number, phrases), entry in zip(emergencies, data["emergencies"]):
        for example in entry["examples"]:
            if not phrases.found(example):
                raise ValueError(f"{path.name}: emergency {number} does not catch its example {example!r}")
    for name in ("handoff", "rude"):
        for example in data[name]["examples"]:
            if not getattr(care, name).found(example):
                raise ValueError(f"{path.name}: {name} does not catch its example {example!r}")
    return care
