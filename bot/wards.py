"""Ward profiles officers edit: where a citizen meets a person (knowledge/wards/<ward>.yaml, see the README)."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.care import fold

log = logging.getLogger(__name__)
PROJECT_WARDS = Path(__file__).resolve().parent.parent / "knowledge" / "wards"


@dataclass(frozen=True)
class WardProfile:
    ward: str
    centre: str
    phone: str
    address: str = ""
    hours: str = ""
    example: bool = False  # sample data shipped with the project, not a real office


def ward_file_name(ward: str) -> str:
    """"phường An Hải" → "phuong-an-hai.yaml"."""
    return "-".join(re.findall(r"[a-z0-9]+", fold(ward))) + ".yaml"


class WardProfiles:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else PROJECT_WARDS

    def get(self, ward: str | None) -> WardProfile | None:
        """The profile of a ward, read fresh (officers edit the files while the bot runs); None when absent."""
        if not ward:
            return None
        path = self.folder / ward_file_name(ward)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return WardProfile(ward=str(data.get("ward") or ward), centre=str(data["centre"]),
                               phone=str(data["phone"]), address=str(data.get("address") or ""),
                               hours=str(data.get("hours") or ""), example=bool(data.get("example")))
        except FileNotFoundError:
            return None
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ward profile %s unusable (%s); citizens get the general hotlines", path, exc)
            return None
