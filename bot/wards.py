"""Which ward a chat is about, and where its citizens meet a person (profiles in knowledge/wards, see the README).

A profile is found by any name the ward goes by, with or without its unit ("Phú Thái" is one place whether
written phường or xã) and by its names before the 2025 mergers. A channel may be fixed to one ward (a ward's
own Zalo OA or Telegram bot: CCHC_ZALO_WARD, CCHC_TELEGRAM_WARD, CCHC_MESSENGER_WARD, or CCHC_WARD for all).
"""
from __future__ import annotations

import logging
from pathlib import Path

from index.wards import WardProfile, WardProfileError, place_key, profile_files, read_profile, ward_file_name

log = logging.getLogger(__name__)
PROJECT_WARDS = Path(__file__).resolve().parent.parent / "knowledge" / "wards"
__all__ = ["PROJECT_WARDS", "WardProfile", "WardProfiles", "channel_ward", "ward_file_name"]
# channel key → the setting naming its ward (Settings attribute); `ward` (CCHC_WARD) covers every channel
CHANNEL_WARD_SETTINGS = {"telegram": "telegram_ward", "zalo_bot": "zalo_ward", "zalo_oa": "zalo_ward",
                         "messenger": "messenger_ward"}


def channel_ward(settings, channel: str) -> str | None:
    """The ward a channel is fixed to by settings, or None (a chat then says its own)."""
    if settings is None:
        return None
    value = getattr(settings, CHANNEL_WARD_SETTINGS.get(channel, ""), None) or getattr(settings, "ward", None)
    text = " ".join(str(value or "").split())
    return text or None


class WardProfiles:
    """Profiles read fresh when their file changes (officers edit them while the bot runs)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else PROJECT_WARDS
        self._read: dict[Path, tuple[tuple[int, int], WardProfile | None]] = {}

    def all(self) -> list[WardProfile]:
        """Every usable profile; an unusable file is logged (the console names its problems) and skipped."""
        out = []
        for path in profile_files(self.folder):
            try:
                stat = path.stat()
            except OSError:
                continue
            stamp = (stat.st_mtime_ns, stat.st_size)
            known = self._read.get(path)
            if known is None or known[0] != stamp:
                try:
                    profile: WardProfile | None = read_profile(path)
                except WardProfileError as exc:
                    log.warning("ward profile unusable, citizens get the general hotlines: %s", exc)
                    profile = None
                self._read[path] = known = (stamp, profile)
            if known[1] is not None:
                out.append(known[1])
        return out

    def get(self, ward: str | None) -> WardProfile | None:
        """The profile of a ward by any of its names, with or without unit; the same unit wins a tie."""
        key = place_key(ward)
        if not key:
            return None
        matches = [p for p in self.all() if key in p.names()]
        same_unit = [p for p in matches if place_key(p.ward) == key and ward and ward.lower().startswith(p.unit)]
        return (same_unit or matches or [None])[0]

    def official(self, ward: str | None) -> str | None:
        """The ward's official name ("phường An Hải") when a profile knows it under `ward`, else `ward`."""
        profile = self.get(ward)
        return profile.ward if profile else ward
