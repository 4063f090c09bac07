"""Her kraamweek texts (Pharos, Klantroute Kraamzorg): complete in every language, short, without
clinical numbers, each warning sign with its source; the day she is in; what the page and the
read-aloud button say."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from kraamwacht.dashboard.kraamweek import (
    ICONS,
    KRAAMWEEK_LANGUAGES,
    day_of_kraamweek,
    kraamweek_html,
    kraamweek_sentences,
    kraamweek_texts,
)
from kraamwacht.dashboard.model import MOTHER_TEXTS, SPEECH_LANGUAGES
from kraamwacht.episodes import LANGUAGES
from kraamwacht.handout import HANDOUT_TEXTS

DUTCH = kraamweek_texts("nl")


@pytest.mark.parametrize("lang", KRAAMWEEK_LANGUAGES)
def test_every_language_says_every_day_and_every_sign_without_numbers(lang: str) -> None:
    texts = kraamweek_texts(lang)
    assert texts.language == lang
    assert set(texts.days) == set(DUTCH.days) == set(range(1, 9))
    assert [len(texts.days[d]) for d in sorted(texts.days)] == [len(DUTCH.days[d]) for d in sorted(DUTCH.days)]
    assert list(texts.mother_signs) == list(DUTCH.mother_signs)  # fever, bleeding, pain, ...
    assert list(texts.baby_signs) == list(DUTCH.baby_signs)  # yellow, feeding, sleepy, ...
    everything = [line for day in texts.days.values() for line in day]
    everything += [text for text, _ in [*texts.mother_signs.values(), *texts.baby_signs.values()]]
    for line in everything:
        assert not re.search(r"\d", line), f"{lang}: a number in {line!r}"  # never a clinical number
        assert len(line.split()) <= 25, f"{lang}: not a short sentence: {line!r}"
    for key, (_text, source) in [*texts.mother_signs.items(), *texts.baby_signs.items()]:
        assert source.startswith("NICE "), f"{lang}/{key}: no source"  # each sign names where it comes from
        assert key in ICONS  # and has its pictogram
    assert "{day}" in texts.words["day"]


def test_her_page_speaks_all_six_languages_everywhere() -> None:
    for lang in KRAAMWEEK_LANGUAGES:  # her page, her handout, the episode's language and the voice agree
        assert lang in MOTHER_TEXTS
        assert lang in HANDOUT_TEXTS
        assert lang in LANGUAGES
        assert lang in SPEECH_LANGUAGES
        assert set(MOTHER_TEXTS[lang]) == set(MOTHER_TEXTS["nl"])


def test_the_day_of_her_kraamweek() -> None:
    birth = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert day_of_kraamweek(birth, birth) == 1
    assert day_of_kraamweek(birth, birth + timedelta(hours=23, minutes=59)) == 1
    assert day_of_kraamweek(birth, birth + timedelta(hours=24)) == 2
    assert day_of_kraamweek(birth, birth + timedelta(days=9, hours=1)) == 10
    assert DUTCH.normal(10) == DUTCH.normal(8)  # after the last day: the last day's texts
    assert DUTCH.normal(0) == DUTCH.normal(1)


def test_the_page_and_the_voice_say_the_same_words() -> None:
    arabic = kraamweek_texts("ar")
    page = kraamweek_html(arabic, 3, direction="rtl")
    assert 'dir="rtl"' in page
    assert 'data-day="3"' in page
    for sentence in kraamweek_sentences(arabic, 3):
        assert sentence.rstrip(".:") in page  # read aloud only what is shown
    assert "<script" not in page.lower()
