"""Coded gender columns (F/N, M/F, 1/2): what a code means is read from the whole column.

"F" is férfi in a Hungarian sheet that writes N for nő, but female in one
that writes M for male: one cell cannot tell, the column can.  1 and 2 are
the codes of ISO/IEC 5218, of the KSH and of the Hungarian personal number
(1 = férfi, 2 = nő).  A code's reading is then checked against the given
names of its rows: when most of them say the other gender, the codes are
not what we think and the names decide.  A wrong "Úr" to a woman is worse
than the neutral form, so a code that cannot be read decides nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from lgp_mailer.hungarian import FEMALE, MALE, read_name, register_genders
from lgp_mailer.i18n import _

CODES = ("f", "m", "n", "1", "2")
MARK = "code:"  # how a coded cell waits in a recipient's genders until the column is read
_FIXED = {"m": MALE, "n": FEMALE, "1": MALE, "2": FEMALE}
_OTHER = {FEMALE: MALE, MALE: FEMALE}
# Rows whose given name says the other gender before a code is distrusted: one or two
# are a typo in that row (and warned about there); more, and the reading is wrong.
_AGAINST_MIN = 3


def code_of(text: str) -> str | None:
    """``"F"``, ``"f."``, ``"1"`` → the code (``"f"``, ``"1"``); None for anything else."""
    folded = unicodedata.normalize("NFC", text).strip().rstrip(".").strip().casefold()
    return folded if folded in CODES else None


def name_says(name: str) -> str | None:
    """The gender a name's given name gives when the register lists it under one gender only,
    or a married woman's "-né" name; else None (such a name is no evidence about a code)."""
    reading = read_name(name)
    if reading.married is not None:
        return FEMALE
    if reading.given is not None and len(register_genders(reading.given)) == 1:
        return reading.gender
    return None


@dataclass
class _Seen:
    row: int  # the first row with the code
    written: str  # that cell as written
    column: str  # the gender column's header
    names: dict[str, int] = field(default_factory=dict)  # gender the given name says → rows


@dataclass(frozen=True)
class CodeWarning:
    sheet: str | None
    row: int
    column: str
    value: str
    message: str


class GenderCodes:
    """The coded cells of each sheet's gender column, tallied as rows are read."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str | None, str], _Seen] = {}
        self._meanings: dict[tuple[str | None, str], str | None] | None = None

    def add(self, sheet: str | None, code: str, written: str, row: int, column: str, name: str) -> None:
        seen = self._seen.setdefault((sheet, code), _Seen(row, written, column))
        said = name_says(name) if name else None
        if said is not None:
            seen.names[said] = seen.names.get(said, 0) + 1

    def read(self) -> list[CodeWarning]:
        """Decide every code's meaning, once all rows are read; the warnings about codes that decide nothing."""
        self._meanings, warnings = {}, []
        for sheet in dict.fromkeys(s for s, _code in self._seen):
            codes = {c: seen for (s, c), seen in self._seen.items() if s == sheet}
            read = {c: _FIXED.get(c) or (FEMALE if "m" in codes else MALE) for c in codes}  # M/F: F is female
            first = min(codes.values(), key=lambda seen: seen.row)
            against = sum(seen.names.get(_OTHER[read[c]], 0) for c, seen in codes.items())
            agree = sum(seen.names.get(read[c], 0) for c, seen in codes.items())
            meanings: dict[str, str | None] = dict(read)
            if against >= _AGAINST_MIN and against > agree:
                meanings = dict.fromkeys(codes)
                message = _(
                    "the gender column's codes disagree with the given names in {against} of {total} rows: "
                    "the names decide, not the codes"
                ).format(against=against, total=against + agree)
                warnings.append(CodeWarning(sheet, first.row, first.column, first.written, message))
            elif "f" in codes and {"m", "n"} <= codes.keys():
                meanings["f"] = None
                f = codes["f"]
                message = _("the gender column uses M, N and F: F may mean férfi or female, so the name decides")
                warnings.append(CodeWarning(sheet, f.row, f.column, f.written, message))
            self._meanings.update({(sheet, c): meaning for c, meaning in meanings.items()})
        return warnings

    def resolve(self, sheet_rows: Iterable[tuple[str | None, int, str]]) -> list[tuple[str | None, int, str]]:
        """A recipient's (sheet, row, gender) cells with each code read; a code that decides nothing is left out."""
        meanings = self._meanings or {}
        resolved = []
        for sheet, row, gender in sheet_rows:
            if gender.startswith(MARK):
                meaning = meanings.get((sheet, gender[len(MARK) :]))
                if meaning is None:
                    continue
                gender = meaning
            resolved.append((sheet, row, gender))
        return resolved
