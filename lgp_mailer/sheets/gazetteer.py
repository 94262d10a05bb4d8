"""The KSH gazetteer: is a Település cell a real settlement, and in which county?

The list ships as ``lgp_mailer/data/settlements.csv`` (KSH Helységnévtár,
2025-01-01; source, licence and its limits in ``data/SOURCE.md``).  Offices
write "Bikal Község Önkormányzata", "Budapest XIII. kerület" or "Baranya
megye"; :meth:`Gazetteer.find` and :meth:`Gazetteer.county` read those forms.
An unknown name is never corrected, only answered with close names: dropping
accents makes some names ambiguous (Komló in Baranya, Kömlő in Heves).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

# Words around a settlement's name in an office's title, never part of it:
# "Hódmezővásárhely Megyei Jogú Város Önkormányzata" is Hódmezővásárhely.
_OFFICE_WORDS = frozenset(
    {
        "önkormányzata",
        "önkormányzat",
        "önkormányzati",
        "polgármesteri",
        "hivatal",
        "hivatala",
        "közös",
        "község",
        "községi",
        "nagyközség",
        "nagyközségi",
        "város",
        "városi",
        "megyei",
        "jogú",
        "megyeszékhely",
        "mjv",
    }
)
_COUNTY_WORDS = ("vármegye", "megye")
# Renamed counties: the old name still fills many address books.
_FORMER_COUNTIES = {
    "csongrád": "Csongrád-Csanád",  # until 2020
    "szabolcs-szatmár": "Szabolcs-Szatmár-Bereg",  # until 1990
    "győr-sopron": "Győr-Moson-Sopron",
    "szolnok": "Jász-Nagykun-Szolnok",
    "komárom": "Komárom-Esztergom",
    "főváros": "Budapest",
    "budapest főváros": "Budapest",
    # The abbreviations offices use for the long names.
    "baz": "Borsod-Abaúj-Zemplén",
    "gyms": "Győr-Moson-Sopron",
    "jnsz": "Jász-Nagykun-Szolnok",
    "kem": "Komárom-Esztergom",
    "szszb": "Szabolcs-Szatmár-Bereg",
}
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}
_DISTRICT = re.compile(
    r"^(?:(?:budapest|bp\.?)(?:\s+főváros)?[\s,]*)?(?P<n>[ivxl]+|\d{1,2})\s*\.?\s*(?:ker(?:ület|\.)?i?)\b"
    r"|^(?:budapest|bp\.?)\s+(?P<m>[ivxl]+|\d{1,2})\.?$"
)
_NUMBER = re.compile(r"^[\d\s.,/-]+$")


@dataclass(frozen=True, slots=True)
class Settlement:
    name: str  # as KSH writes it, e.g. "Budapest 13. ker."
    county: str  # the county (vármegye); "Budapest" for the capital and its districts
    ksh_code: str
    status: str  # község, város, megyei jogú város, fővárosi kerület, ...


def is_number(text: str) -> bool:
    """A postcode or code where a name belongs: "45000", "7361", "2 100"."""
    return bool(_NUMBER.match(text)) and any(ch.isdigit() for ch in text)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _roman(text: str) -> int:
    if text.isdigit():
        return int(text)
    values = [_ROMAN[ch] for ch in text]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def settlement_key(text: str) -> str:
    """How a Település cell is compared: no case, no office words, districts as KSH writes them."""
    folded = _fold(text).strip(" .,")
    district = _DISTRICT.match(folded)
    if district:
        number = _roman(district["n"] or district["m"])
        return f"budapest {number:02d}. ker." if 1 <= number <= 23 else folded
    words = folded.split()
    while len(words) > 1 and words[-1].strip(",.") in _OFFICE_WORDS:
        words.pop()
    return " ".join(words).strip(" ,")


class Gazetteer:
    """The settlements of Hungary, found by name (see :func:`settlement_key`)."""

    def __init__(self, settlements: Iterable[Settlement]) -> None:
        self._by_key = {settlement_key(s.name): s for s in settlements}
        self._keys = list(self._by_key)
        self._counties = {_fold(s.county): s.county for s in self._by_key.values()}

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Settlement]:
        return iter(self._by_key.values())

    def find(self, text: str) -> Settlement | None:
        return self._by_key.get(settlement_key(text))

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (one gazetteer per process: it lives as long)
    def suggest(self, text: str, *, fuzzy: bool = True) -> tuple[str, ...]:
        """Up to three listed names close to ``text``, best first.

        A listed name that ``text`` only adds to ("Üröm-próba", "Bikal 2") is
        found by dictionary lookups; ``fuzzy`` adds difflib's close matches,
        about 3 ms a name, so a caller with thousands of unknown names stops
        asking for them.
        """
        key = settlement_key(text)
        cuts = [m.start() for m in re.finditer(r"[-\s(,/]", key)]
        prefix = next((p for p in (key[:cut].strip() for cut in reversed(cuts)) if p in self._by_key), None)
        if prefix is not None:
            return (self._by_key[prefix].name,)
        if not fuzzy:
            return ()
        # difflib's ratio 2M/(a+b) reaches the cutoff only if min/max length >= cutoff/(2-cutoff).
        size, cutoff = len(key), 0.75
        bound = cutoff / (2 - cutoff)
        keys = [k for k in self._keys if min(size, len(k)) >= bound * max(size, len(k))]
        close = difflib.get_close_matches(key, keys, n=3, cutoff=cutoff)
        return tuple(self._by_key[k].name for k in close)

    def county(self, text: str) -> str | None:
        """The official county for "Baranya", "baranya megye", "Csongrád vármegye"; None if none."""
        folded = _fold(text).strip(" .,")
        for word in _COUNTY_WORDS:
            if folded.endswith(" " + word):
                folded = folded[: -len(word) - 1].strip()
                break
        return self._counties.get(folded) or _FORMER_COUNTIES.get(folded)


@functools.cache
def load_gazetteer() -> Gazetteer:
    """The shipped KSH list (read once per process)."""
    text = resources.files("lgp_mailer").joinpath("data/settlements.csv").read_text(encoding="utf-8")
    settlements = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, county, code, status = line.split(";")
            settlements.append(Settlement(name, county, code, status))
    return Gazetteer(settlements)
