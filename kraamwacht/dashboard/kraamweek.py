"""What a mother needs to know, on the day of her kraamweek she is in (Pharos, *Klantroute Kraamzorg*).

The texts live in one file per language (``klantroute/<lang>.toml``): short sentences without
clinical numbers, what is normal on each day, and the signs that mean "call now" for her and for
the baby, each with its source. This module reads them and writes the part of her page that shows
them; it decides nothing clinical.
"""

from __future__ import annotations

import base64
import html
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

__all__ = [
    "KRAAMWEEK_LANGUAGES",
    "KraamweekTexts",
    "day_of_kraamweek",
    "kraamweek_html",
    "kraamweek_sentences",
    "kraamweek_texts",
]

KRAAMWEEK_LANGUAGES = ("nl", "en", "ar", "tr", "pl", "uk")
LAST_DAY = 8  # the texts run to day 8; later days keep showing day 8's

_ICON = '<svg xmlns="http://www.w3.org/2000/svg" width="36" height="36" viewBox="0 0 36 36">{}</svg>'
ICONS = {  # pictograms as inline SVG (a tablet or phone may have no emoji font)
    "fever": '<rect x="15" y="4" width="6" height="20" rx="3" fill="#c62828"/><circle cx="18" cy="27" r="6" fill="#c62828"/>',
    "bleeding": '<path d="M18 4 C12 14 9 19 9 23 a9 9 0 0 0 18 0 C27 19 24 14 18 4z" fill="#b71c1c"/>',
    "pain": '<path d="M20 3 L9 20 h8 l-3 13 L27 14 h-8 z" fill="#ef6c00"/>',
    "headache": '<circle cx="18" cy="20" r="11" fill="none" stroke="#6a1b9a" stroke-width="3"/><path d="M10 6 l4 5 M18 3 v6 M26 6 l-4 5" stroke="#6a1b9a" stroke-width="3"/>',
    "leg_breath": '<path d="M14 3 v20 l-6 9 h9 l3-9 V3z" fill="#1565c0"/><path d="M24 10 q6 4 0 8 q6 4 0 8" fill="none" stroke="#1565c0" stroke-width="2.5"/>',
    "yellow": '<circle cx="18" cy="18" r="13" fill="#fbc02d"/><circle cx="13" cy="15" r="2" fill="#333"/><circle cx="23" cy="15" r="2" fill="#333"/>',
    "feeding": '<rect x="12" y="10" width="12" height="22" rx="5" fill="none" stroke="#1565c0" stroke-width="3"/><path d="M15 10 v-4 h6 v4" fill="#1565c0"/>',
    "sleepy": '<path d="M8 10 h9 l-9 10 h9 M20 22 h7 l-7 8 h7" fill="none" stroke="#546e7a" stroke-width="3"/>',
    "breathing": '<path d="M17 6 v10 M19 6 v10 M17 16 q-10 0 -10 14 q5 1 10 -6z M19 16 q10 0 10 14 q-5 1 -10 -6z" fill="#1565c0" stroke="#1565c0" stroke-width="1.5"/>',
}


@dataclass(frozen=True, slots=True)
class KraamweekTexts:
    """One language's texts: the words of the page, each day's normal things, the signs and their sources."""

    language: str
    words: dict[str, str]
    days: dict[int, tuple[str, ...]]
    mother_signs: dict[str, tuple[str, str]]  # key → (text, source)
    baby_signs: dict[str, tuple[str, str]]

    def normal(self, day: int) -> tuple[str, ...]:
        return self.days[min(max(day, 1), LAST_DAY)]


@cache
def kraamweek_texts(lang: str) -> KraamweekTexts:
    """The texts of ``lang`` (Dutch for a language without a file)."""
    chosen = lang if lang in KRAAMWEEK_LANGUAGES else "nl"
    raw = tomllib.loads(
        resources.files("kraamwacht.dashboard").joinpath(f"klantroute/{chosen}.toml").read_text("utf-8")
    )
    signs = raw["signs"]
    return KraamweekTexts(
        language=chosen,
        words=dict(raw["words"]),
        days={int(day): tuple(lines) for day, lines in raw["days"].items()},
        mother_signs={k: (v["text"], v["source"]) for k, v in signs["mother"].items()},
        baby_signs={k: (v["text"], v["source"]) for k, v in signs["baby"].items()},
    )


def day_of_kraamweek(birth_at: datetime, now: datetime) -> int:
    """The day of her kraamweek: day 1 is the day of the birth (the first 24 hours)."""
    return max(1, int((now - birth_at).total_seconds() // 86_400) + 1)


def _pictogram(key: str) -> str:
    """An inline SVG as an image: the page's HTML sanitiser keeps <img>, not <svg>."""
    svg = _ICON.format(ICONS.get(key, ""))
    return (
        f'<img alt="" width="36" height="36" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'
    )


def kraamweek_sentences(texts: KraamweekTexts, day: int) -> list[str]:
    """What the read-aloud button says of this part: the same words as shown, in the same order."""
    w = texts.words
    return [
        w["day"].format(day=day) + ".",
        w["normal"] + ".",
        *texts.normal(day),
        w["call_now"].rstrip(":") + ":",
        *(text + "." for text, _ in texts.mother_signs.values()),
        *(text + "." for text, _ in texts.baby_signs.values()),
    ]


def kraamweek_html(texts: KraamweekTexts, day: int, *, direction: str) -> str:
    """Her day's part of the page: what is normal today, and when to call at once (with pictograms)."""

    def signs(title: str, items: dict[str, tuple[str, str]]) -> str:
        rows = "".join(
            f'<li style="list-style:none;display:flex;gap:.6rem;align-items:center;margin:.3rem 0">'
            f"{_pictogram(key)}<span>{html.escape(text)}</span></li>"
            for key, (text, _source) in items.items()
        )
        return (
            f'<p style="margin:.8rem 0 .2rem"><b>{html.escape(title)}</b></p><ul style="padding:0;margin:0">{rows}</ul>'
        )

    normal = "".join(f"<li>{html.escape(line)}</li>" for line in texts.normal(day))
    w = texts.words
    return (
        f'<div id="kraamweek" dir="{direction}" lang="{texts.language}" data-day="{day}" '
        'style="font-size:1.25rem;line-height:1.5;margin-top:1.5rem">'
        f"<h2>{html.escape(w['day'].format(day=day))}</h2>"
        f"<p><b>{html.escape(w['normal'])}</b></p><ul>{normal}</ul>"
        f'<p style="margin-top:1rem;color:#b71c1c"><b>{html.escape(w["call_now"])}</b></p>'
        f"{signs(w['mother'], texts.mother_signs)}{signs(w['baby'], texts.baby_signs)}</div>"
    )
