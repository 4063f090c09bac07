"""The care episodes the board shows: who is in care, the newborn's birth and gestation, the mother's code.

One SQLite file, written by the board (and ``kraamwacht episode``). Pseudonymous ids only; the
mother's code is a random token for her own page (no login), and ``language`` is the language
her page opens in. Birth time and gestation are what the jaundice thresholds need.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kraamwacht import clock
from kraamwacht.contract import format_time, is_pseudo_id, parse_time
from kraamwacht.errors import InvalidValueError
from kraamwacht.jaundice import Baby, RiskFactor, Standard

__all__ = ["LANGUAGES", "Episode", "EpisodeRegistry"]

LANGUAGES = ("nl", "en", "ar", "tr", "pl", "uk")


@dataclass(frozen=True, slots=True)
class Episode:
    episode: str
    site: str
    mother: str  # pseudonymous subject id of the mother
    newborn: str  # pseudonymous subject id of the newborn
    birth_at: datetime
    ga_weeks: float
    mother_code: str
    language: str = "nl"
    label: str = ""  # what the care team calls the family on the board (no name: e.g. "kamer 3")
    ended_at: datetime | None = None
    # the newborns' neurotoxicity risk factors (AAP 2022 list): "isoimmune" for every newborn of the
    # episode, "b2:g6pd" for one of twins only
    risk_factors: tuple[str, ...] = ()
    standard: str = "aap2022"  # the bilirubin standard this episode is judged by
    twins: tuple[str, ...] = ()  # the other newborns of a multiple birth (pseudonymous ids)
    # a twin born at another time than the first born: (newborn, birth time); the others share birth_at
    twin_births: tuple[tuple[str, datetime], ...] = ()

    @property
    def newborns(self) -> tuple[str, ...]:
        """Every newborn of the episode: one, or twins (triplets): each with her own birth time and risk factors."""
        return (self.newborn, *self.twins)

    def birth_of(self, newborn: str) -> datetime:
        """This newborn's birth time: her own where one was entered, the episode's (the first born's) otherwise."""
        return dict(self.twin_births).get(newborn, self.birth_at)

    @property
    def baby(self) -> Baby:
        """The (first) newborn as the jaundice thresholds need her: birth, gestation, risk factors."""
        return self.baby_of(self.newborn)

    def risk_factors_of(self, newborn: str) -> tuple[str, ...]:
        """This newborn's risk factors: those of the whole episode and those given for her alone."""
        out = []
        for entry in self.risk_factors:
            who, _, factor = entry.rpartition(":")
            if not who or who == newborn:
                out.append(factor)
        return tuple(dict.fromkeys(out))

    def baby_of(self, newborn: str) -> Baby:
        """One newborn as the jaundice thresholds need her: her birth time and risk factors; twins share gestation."""
        factors = tuple(RiskFactor(r) for r in self.risk_factors_of(newborn))
        return Baby(self.birth_of(newborn), self.ga_weeks, factors, False)

    @property
    def bilirubin_standard(self) -> Standard:
        return Standard(self.standard)

    def newborn_age_h(self, at: datetime, newborn: str | None = None) -> float:
        """Hours since birth of ``newborn`` (the first born without one)."""
        born = self.birth_at if newborn is None else self.birth_of(newborn)
        return (at - born).total_seconds() / 3600.0


_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,19}")


class EpisodeRegistry:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS episodes (episode TEXT PRIMARY KEY, site TEXT NOT NULL, mother TEXT NOT NULL,"
            " newborn TEXT NOT NULL, birth_at TEXT NOT NULL, ga_weeks REAL NOT NULL, mother_code TEXT NOT NULL UNIQUE,"
            " language TEXT NOT NULL, label TEXT NOT NULL, ended_at TEXT,"
            " risk_factors TEXT NOT NULL DEFAULT '', standard TEXT NOT NULL DEFAULT 'aap2022', twins TEXT NOT NULL DEFAULT '',"
            " twin_births TEXT NOT NULL DEFAULT '')"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS sites (site TEXT PRIMARY KEY, phone TEXT NOT NULL)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(episodes)")}
        older = (("risk_factors", "''"), ("standard", "'aap2022'"), ("twins", "''"), ("twin_births", "''"))
        for column, default in older:  # registries written before these columns
            if column not in columns:
                self._db.execute(f"ALTER TABLE episodes ADD COLUMN {column} TEXT NOT NULL DEFAULT {default}")
        self._lock = threading.Lock()

    def add(
        self,
        episode: str,
        *,
        site: str,
        mother: str,
        newborn: str,
        birth_at: datetime,
        ga_weeks: float,
        language: str = "nl",
        label: str = "",
        risk_factors: tuple[str, ...] = (),
        standard: str = "aap2022",
        twins: tuple[str, ...] = (),
        twin_births: dict[str, datetime] | None = None,
    ) -> Episode:
        """A new care episode; ``twins`` are the other newborns of a multiple birth.

        A twin is born at ``birth_at`` too unless ``twin_births`` gives her own time (not before the
        first born's, not in the future): her age, and so her bilirubin thresholds, count from it.
        """
        ids = [("episode", episode), ("site", site), ("mother", mother), ("newborn", newborn)]
        for name, value in [*ids, *(("newborn", t) for t in twins)]:
            if not is_pseudo_id(value):
                raise InvalidValueError(f"{name} {value!r} is not a pseudonymous id (letters, digits, . _ -)")
        people = [mother, newborn, *twins]
        if len(set(people)) != len(people):
            raise InvalidValueError(f"mother and newborns need ids of their own, got {people}")
        if not 22.0 <= ga_weeks <= 45.0:
            raise InvalidValueError(f"gestational age {ga_weeks} weeks is outside 22–45")
        if language not in LANGUAGES:
            raise InvalidValueError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
        if birth_at.tzinfo is None:
            raise InvalidValueError("birth time needs a time zone")
        if birth_at > clock.utcnow():
            raise InvalidValueError("birth time is in the future")
        factors, standard = _checked(risk_factors, standard, (newborn, *twins))
        births = _checked_births(twin_births or {}, birth_at, twins)
        item = Episode(episode, site, mother, newborn, birth_at.astimezone(UTC), ga_weeks, secrets.token_urlsafe(9),
                       language, label[:40], None, factors, standard, tuple(twins), births)  # fmt: skip
        with self._lock:
            self._db.execute(
                "INSERT INTO episodes (episode, site, mother, newborn, birth_at, ga_weeks, mother_code, language,"
                " label, ended_at, risk_factors, standard, twins, twin_births) VALUES (?,?,?,?,?,?,?,?,?,NULL,?,?,?,?)",
                (item.episode, item.site, item.mother, item.newborn, format_time(item.birth_at), item.ga_weeks,
                 item.mother_code, item.language, item.label, ",".join(factors), standard, ",".join(item.twins),
                 ",".join(f"{who}={format_time(at)}" for who, at in births)),
            )  # fmt: skip
        return item

    def update_jaundice(self, episode: str, *, risk_factors: tuple[str, ...], standard: str | None = None) -> Episode:
        """Set the newborn's risk factors (all of them: an empty tuple clears them), and the standard if given."""
        current = self.get(episode)
        if current is None:
            raise InvalidValueError(f"no episode {episode!r}")
        factors, chosen = _checked(risk_factors, standard or current.standard, current.newborns)
        with self._lock:
            self._db.execute(
                "UPDATE episodes SET risk_factors = ?, standard = ? WHERE episode = ?",
                (",".join(factors), chosen, episode),
            )
        updated = self.get(episode)
        assert updated is not None
        return updated

    def _rows(self, where: str = "", args: tuple[object, ...] = ()) -> list[Episode]:
        columns = "episode, site, mother, newborn, birth_at, ga_weeks, mother_code, language, label, ended_at,"
        columns += " risk_factors, standard, twins, twin_births"
        with self._lock:
            rows = self._db.execute(f"SELECT {columns} FROM episodes {where} ORDER BY episode", args).fetchall()
        return [
            Episode(
                r[0],
                r[1],
                r[2],
                r[3],
                parse_time(r[4]),
                r[5],
                r[6],
                r[7],
                r[8],
                parse_time(r[9]) if r[9] else None,
                tuple(f for f in r[10].split(",") if f),
                r[11],
                tuple(t for t in r[12].split(",") if t),
                tuple((who, parse_time(at)) for who, _, at in (b.partition("=") for b in r[13].split(",") if b)),
            )
            for r in rows
        ]

    def renew_code(self, episode: str) -> Episode:
        """A new code for her page; the old link stops working at once (a lost handout, a shared link)."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE episodes SET mother_code = ? WHERE episode = ? AND ended_at IS NULL",
                (secrets.token_urlsafe(9), episode),
            )
        if cursor.rowcount != 1:
            raise InvalidValueError(f"no running episode {episode!r}")
        renewed = self.get(episode)
        assert renewed is not None
        return renewed

    def set_site_phone(self, site: str, phone: str) -> None:
        """The number a mother of this site calls (on her page and her handout)."""
        if not is_pseudo_id(site):
            raise InvalidValueError(f"site {site!r} is not a pseudonymous id")
        if not _PHONE.fullmatch(phone):
            raise InvalidValueError(f"phone {phone!r}: digits, spaces, + - ( ), at most 20 characters")
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO sites VALUES (?, ?)", (site, phone))

    def site_phone(self, site: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT phone FROM sites WHERE site = ?", (site,)).fetchone()
        return None if row is None else str(row[0])

    def get(self, episode: str) -> Episode | None:
        found = self._rows("WHERE episode = ?", (episode,))
        return found[0] if found else None

    def by_code(self, code: str) -> Episode | None:
        """The mother's own page: her code opens her episode and nothing else."""
        found = self._rows("WHERE mother_code = ? AND ended_at IS NULL", (code,))
        return found[0] if found and secrets.compare_digest(found[0].mother_code, code) else None

    def active(self, site: str | None = None) -> list[Episode]:
        if site is None:
            return self._rows("WHERE ended_at IS NULL")
        return self._rows("WHERE ended_at IS NULL AND site = ?", (site,))

    def ended_before(self, at: datetime) -> list[Episode]:
        """Episodes whose care ended before ``at``: candidates for deleting their raw data (retention)."""
        return [e for e in self._rows("WHERE ended_at IS NOT NULL") if e.ended_at is not None and e.ended_at < at]

    def end(self, episode: str, *, at: datetime | None = None) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE episodes SET ended_at = ? WHERE episode = ? AND ended_at IS NULL",
                (format_time(at or clock.utcnow()), episode),
            )
        return cursor.rowcount == 1


def _checked_births(
    births: dict[str, datetime], first: datetime, twins: tuple[str, ...]
) -> tuple[tuple[str, datetime], ...]:
    """Twins' own birth times, checked: a twin of this episode, with a time zone, after the first born, not to come."""
    out = []
    for who, at in births.items():
        if who not in twins:
            raise InvalidValueError(f"birth time for {who!r}: not one of the twins ({', '.join(twins) or 'none'})")
        if at.tzinfo is None:
            raise InvalidValueError(f"birth time of {who} needs a time zone")
        if at < first or at > clock.utcnow():
            raise InvalidValueError(f"birth time of {who} lies before the first born's or in the future")
        out.append((who, at.astimezone(UTC)))
    return tuple(out)


def _checked(risk_factors: tuple[str, ...], standard: str, newborns: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Risk factors as ``factor`` (every newborn) or ``newborn:factor`` (one of them), checked."""
    known = {r.value for r in RiskFactor}
    unknown = [r for r in risk_factors if r.rpartition(":")[2] not in known]
    if unknown:
        raise InvalidValueError(f"unknown risk factor(s) {unknown}; known: {', '.join(sorted(known))}")
    strangers = [r for r in risk_factors if r.rpartition(":")[0] not in ("", *newborns)]
    if strangers:
        raise InvalidValueError(f"risk factor(s) {strangers} name no newborn of this episode ({', '.join(newborns)})")
    if standard not in {s.value for s in Standard}:
        raise InvalidValueError(f"standard {standard!r}: use one of {', '.join(s.value for s in Standard)}")
    return tuple(dict.fromkeys(risk_factors)), standard
