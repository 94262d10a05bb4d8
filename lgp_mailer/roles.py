"""The role column → the office a salutation names, from a fixed vocabulary.

A salutation names the office ("Tisztelt Jegyző Asszony!"), never the raw
cell: "polgármester asszony", "PM" and "társadalmi megbízatású polgármester"
all mean the mayor.  :data:`OFFICES`, :data:`QUALIFIERS` and
:data:`INSTITUTION_WORDS` are the whole vocabulary; README's "Salutation
rules" table documents it and ``tests/test_roles.py`` asserts that table row
by row, so the two cannot drift apart.

Matching ignores case, accents (a sheet saved without them still reads
"polgarmester"), spaces and hyphens inside the office ("kirendeltség-vezető").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

FEMALE, MALE = "female", "male"
OFFICE, INSTITUTION, UNKNOWN = "office", "institution", "unknown"

# Office → (title written in the salutation, other spellings and abbreviations).
# Mötv. (2011. évi CLXXXIX. törvény) names the local-government offices.
OFFICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "polgármester": ("Polgármester", ("PM", "polg.", "polgm.", "mayor")),
    "alpolgármester": ("Alpolgármester", ("alpm", "alpolg.", "deputy mayor", "vice mayor")),
    # The deputy as many offices title the alpolgármester (Mötv. 74. §); written with a
    # hyphen from six syllables on (AkH. 139.), as főpolgármester-helyettes.
    "polgármester-helyettes": ("Polgármester-helyettes", ()),
    "főpolgármester": ("Főpolgármester", ()),
    "főpolgármester-helyettes": ("Főpolgármester-helyettes", ()),
    "jegyző": ("Jegyző", ("körjegyző", "notary", "town clerk")),  # körjegyző: the joint office's jegyző before 2013
    "aljegyző": ("Aljegyző", ()),
    "főjegyző": ("Főjegyző", ("chief notary",)),
    "kirendeltségvezető": ("Kirendeltségvezető", ()),
    "hivatalvezető": ("Hivatalvezető", ()),
    # The head of a county assembly, of a nationality self-government or of a
    # committee: "a képviselő-testület elnöke" reads as "Elnök" too.
    "elnök": ("Elnök", ()),
    "alelnök": ("Alelnök", ()),
    "elnökhelyettes": ("Elnökhelyettes", ()),  # a nationality self-government's deputy chair
    "képviselő": ("Képviselő", ()),
}

# Possessive forms ("Példafalva polgármestere"): the words before them name
# the owner, so they are dropped whatever they are.
POSSESSIVES: dict[str, str] = {
    "polgármestere": "polgármester",
    "alpolgármestere": "alpolgármester",
    "polgármester-helyettese": "polgármester-helyettes",
    "főpolgármestere": "főpolgármester",
    "jegyzője": "jegyző",
    "aljegyzője": "aljegyző",
    "főjegyzője": "főjegyző",
    "kirendeltségvezetője": "kirendeltségvezető",
    "hivatalvezetője": "hivatalvezető",
    "elnöke": "elnök",
    "alelnöke": "alelnök",
    "elnökhelyettese": "elnökhelyettes",
    "képviselője": "képviselő",
}

# Words in front of an office that are not part of the form of address, and why.
QUALIFIERS: dict[str, str] = {
    "főállású": "the employment status (Mötv. 64. §), not a title: the mayor is addressed alike",
    "társadalmi megbízatású": "the employment status (Mötv. 64. §), not a title",
    "megbízott": "an acting office holder is addressed by the office",
    "mb.": "the abbreviation of megbízott",
    "címzetes": "an honorary title (címzetes főjegyző); the address is the office's own title",
    "kerületi": "a Budapest district's mayor is addressed as any mayor",
    "települési": "where the office is, not what it is",
    "községi": "where the office is, not what it is",
    "városi": "where the office is, not what it is",
    "megyei": "where the office is, not what it is",
    "önkormányzati": "where the office is, not what it is (önkormányzati képviselő)",
}

# A cell naming one of these (as a word, also possessive: "önkormányzata") and
# no office is an institution, not a person.  PMH is "polgármesteri hivatal".
INSTITUTION_WORDS = ("hivatal", "önkormányzat", "titkárság", "iroda", "ügyfélszolgálat", "kirendeltség", "PMH")
_INSTITUTION_SUFFIXES = ("", "a", "e", "ja", "je")
# Words that say nothing about the office: a salutation typed into the role
# cell ("Tisztelt Polgármester Úr"), "részére" (for the attention of).
_NOISE = frozenset({"tisztelt", "t", "reszere"})
# Before an office, these change what it is ("volt polgármester"): not that office.
_NOT_THE_OFFICE = frozenset({"helyettes", "h", "volt", "nyugalmazott", "leendo", "korabbi"})  # h.: helyettes
# Two offices in one cell ("polgármester, jegyző"): neither can be assumed.
_SEPARATORS = re.compile(r"\s*(?:[,;/+&]|\bés\b|\billetve\b|\bill\.)\s*")

# The word in the cell that gives the gender: "polgármester asszony", "jegyző úr".
_GENDER_WORDS = {"asszony": FEMALE, "asszonya": FEMALE, "hölgy": FEMALE, "úr": MALE, "ura": MALE}


@dataclass(frozen=True, slots=True)
class Role:
    """What a role cell says: an office, an institution, or something unknown."""

    kind: str  # OFFICE | INSTITUTION | UNKNOWN
    office: str | None  # the key in OFFICES ("polgármester")
    gender: str | None  # from "asszony"/"úr" in the cell
    text: str  # the cell, whitespace-normalised and lower-cased
    word: str | None = None  # the word that gave the gender, as the cell writes it ("asszony", "úr")
    typo: bool = False  # the office is read from a word one letter off ("polgármster")

    @property
    def title(self) -> str | None:
        return OFFICES[self.office][0] if self.office else None

    @property
    def canonical(self) -> str:
        """The office with its gender word, or the cleaned text: stable under :func:`read_role`."""
        if self.office is None:
            return self.text
        word = {FEMALE: " asszony", MALE: " úr"}.get(self.gender or "", "")
        return self.office + word


@functools.lru_cache(maxsize=8192)  # a sheet's names repeat their words: 100,000 rows, a few thousand words
def fold(text: str) -> str:
    """Lower case without accents, spaces, hyphens or dots: "Kirendeltség-vezető" → "kirendeltsegvezeto"."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in bare if ch not in " -.\u2013")


def _lookup() -> dict[str, str]:
    table = {}
    for office, (_, spellings) in OFFICES.items():
        for spelling in (office, *spellings):
            table[fold(spelling)] = office
    return table


_OFFICE_BY_FOLD = _lookup()
_POSSESSIVE_BY_FOLD = {fold(k): v for k, v in POSSESSIVES.items()}
_QUALIFIER_FOLDS = sorted((fold(q) for q in QUALIFIERS), key=len, reverse=True)
_GENDER_BY_FOLD = {fold(k): v for k, v in _GENDER_WORDS.items()}
_INSTITUTION_FOLDS = frozenset(fold(w) + s for w in INSTITUTION_WORDS for s in _INSTITUTION_SUFFIXES)
_INSTITUTION_STEMS = tuple(fold(w) for w in INSTITUTION_WORDS)
_OFFICE_FOLDS = tuple(_OFFICE_BY_FOLD) + tuple(_POSSESSIVE_BY_FOLD)
# Words that end a name in a name cell ("Gál Boglárka polgármester asszony"): an office, a
# possessive, a gender word, an institution or a qualifier is no part of anyone's name.
_TITLE_WORD_FOLDS = frozenset(
    (*_OFFICE_BY_FOLD, *_POSSESSIVE_BY_FOLD, *_GENDER_BY_FOLD, *_INSTITUTION_FOLDS)
) | frozenset(fold(word) for qualifier in QUALIFIERS for word in qualifier.split())


def is_title_word(word: str) -> bool:
    """Whether one word of a name cell is an office or title word, not a name: "polgármester",
    "Jegyzője", "asszony", "(megbízott", "Hivatal"."""
    return fold(word.strip(",;:()!")) in _TITLE_WORD_FOLDS


def may_name_institution(cell: str) -> bool:
    """False when :func:`read_role` cannot read ``cell`` as an institution: no
    institution word is in the folded cell.  Each word read_role folds is a
    piece of the cell, so its fold is a piece of the cell's fold.  Cheaper than
    read_role for a sheet's names, each read once, and keeps them out of its cache."""
    text = " ".join(unicodedata.normalize("NFC", cell).split()).lower()
    folded = fold.__wrapped__(text)
    return any(stem in folded for stem in _INSTITUTION_STEMS)


def may_name_office(cell: str) -> bool:
    """False when :func:`read_role` cannot find an office in ``cell``: no office's
    fold is a piece of the cell's fold.  A cheap test before reading a name cell."""
    folded = fold.__wrapped__(" ".join(unicodedata.normalize("NFC", cell).split()).lower())
    return any(office in folded for office in _OFFICE_FOLDS)


@functools.lru_cache(maxsize=1024)
def read_role(cell: str | None) -> Role | None:
    """Read a role cell; None for an empty one (the caller's default applies)."""
    text = " ".join(unicodedata.normalize("NFC", cell or "").split()).lower()
    bare = re.sub(r"\([^)]*\)", " ", text).strip()  # "jegyző (közös hivatal)"
    if not text:
        return None
    whole = _one(bare, text)
    words = bare.split()
    if words and fold(words[-1].strip(",;:()!")) in _POSSESSIVE_BY_FOLD:
        return whole  # "Példafalva és Mintaháza jegyzője": one office of two places
    parts = [part for part in _SEPARATORS.split(bare) if part.strip()]
    return _several(parts, text) if len(parts) > 1 else whole


def _several(parts: list[str], text: str) -> Role:
    read = [_one(part, part) for part in parts]
    if all(r.kind == INSTITUTION for r in read):
        return Role(INSTITUTION, None, None, text)
    offices = {r.office for r in read}
    if len(offices) == 1 and read[0].kind == OFFICE:  # "polgármester / PM"
        genders = {r.gender for r in read} - {None}
        gender = genders.pop() if len(genders) == 1 else None
        word = next((r.word for r in read if gender and r.gender == gender), None)
        return Role(OFFICE, read[0].office, gender, text, word)
    return Role(UNKNOWN, None, None, text)


def _one(bare: str, text: str) -> Role:
    gender = said = None
    kept: list[str] = []
    for word in bare.split():
        word = word.strip(",;:()!")
        folded = fold(word)
        if folded in _GENDER_BY_FOLD:
            gender, said = _GENDER_BY_FOLD[folded], word
            continue
        if folded in _NOISE:
            continue
        for suffix in ("asszony", "ur"):  # "polgármesterasszony", "jegyzőúr"
            if folded.endswith(suffix) and folded[: -len(suffix)] in _OFFICE_BY_FOLD:
                gender, said, word = _GENDER_BY_FOLD[suffix], word[-len(suffix) :], word[: -len(suffix)]
                break
        if word:
            kept.append(word)
    office = _office(kept)
    if office is not None:
        return Role(OFFICE, office, gender, text, said)
    if any(fold(word) in _INSTITUTION_FOLDS for word in kept):
        return Role(INSTITUTION, None, None, text)
    if (near := _near_office(kept)) is not None:
        return Role(OFFICE, near, gender, text, said, typo=True)
    return Role(UNKNOWN, None, gender, text, said)


_TYPO_MIN = 8  # letters: a shorter word one letter off an office is as likely another word


def _near_office(words: list[str]) -> str | None:
    """The one office a long last word misses by one letter ("polgármster", "alpolgármeser"),
    when no word before it changes or doubles the office; else None."""
    if not words or any(fold(w) in _NOT_THE_OFFICE or fold(w) in _OFFICE_BY_FOLD for w in words[:-1]):
        return None
    last = fold(words[-1])
    if len(last) < _TYPO_MIN or last[:-1] in _OFFICE_BY_FOLD:  # "polgármesteri" is an adjective
        return None
    near = {office for spelling, office in _OFFICE_BY_FOLD.items() if _one_edit(last, spelling)}
    return near.pop() if len(near) == 1 else None


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by exactly one letter changed, added, dropped or swapped with the next."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    if len(a) == len(b):
        swapped = a[start : start + 2] == b[start : start + 2][::-1]
        return a[start + 1 :] == b[start + 1 :] or (swapped and a[start + 2 :] == b[start + 2 :])
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1 :] == shorter[start:]


def _office(words: list[str]) -> str | None:
    if not words:
        return None
    last = fold(words[-1])
    if last in _POSSESSIVE_BY_FOLD:  # "Példafalva polgármestere"
        return _POSSESSIVE_BY_FOLD[last]
    rest = fold(" ".join(words))
    stripped = True
    while stripped:  # qualifiers may stack: "megbízott címzetes főjegyző"
        stripped = False
        for qualifier in _QUALIFIER_FOLDS:
            if rest.startswith(qualifier) and rest != qualifier:
                rest, stripped = rest[len(qualifier) :], True
                break
    if rest in _OFFICE_BY_FOLD:
        return _OFFICE_BY_FOLD[rest]
    # "NNÖ elnök", "Példafalva polgármester": the words before name the place, unless one
    # is another office ("polgármester alpolgármester", two lines of one cell): two offices.
    if last in _OFFICE_BY_FOLD and not any(fold(w) in _NOT_THE_OFFICE for w in words[:-1]):
        office = _OFFICE_BY_FOLD[last]
        others = {_OFFICE_BY_FOLD.get(fold(w), office) for w in words[:-1]}
        return office if others <= {office} else None
    return None
