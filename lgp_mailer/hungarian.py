"""Hungarian language rules: dates, times, salutations and names as official letters write them.

Month and weekday names come from Babel's CLDR data, never from a table
typed in here, and given names' genders come from gender-guesser's dictionary.
Only the day-number suffix ("18-án", "1-jén"), the salutation pattern and the
name rules (titles, the married "-né") are our own, because no library has them.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from typing import NamedTuple

from babel.dates import format_date, format_time

LOCALE = "hu_HU"

# "2020. június 18. (csütörtök)" -- the seed invitation's style.
_DATE_WITH_WEEKDAY = "y. MMMM d. '('EEEE')'"
_DATE = "y. MMMM d."
_MONTH_DAY = "MMMM d"
# "10.00": Hungarian letters write a dot; the CLDR default is "H:mm".
_TIME = "H.mm"


def long_date(day: dt.date, *, weekday: bool = True) -> str:
    """``2020. június 18. (csütörtök)`` or, without weekday, ``2020. június 18.``"""
    return format_date(day, _DATE_WITH_WEEKDAY if weekday else _DATE, locale=LOCALE)


def clock(time: dt.time) -> str:
    """``10.00``, ``9.30``."""
    return format_time(time, _TIME, locale=LOCALE)


def weekday(day: dt.date) -> str:
    """``csütörtök``."""
    return format_date(day, "EEEE", locale=LOCALE)


# Vowel harmony of the ordinal's spoken form decides the suffix: elsején,
# másodikán, harmadikán, negyedikén ... tizedikén, huszadikán, harmincadikán.
_UNIT_SUFFIX = {1: "én", 2: "én", 3: "án", 4: "én", 5: "én", 6: "án", 7: "én", 8: "án", 9: "én"}
_TENS_SUFFIX = {10: "én", 20: "án", 30: "án"}


def day_suffix(day: int) -> str:
    """The "on day N" suffix with its hyphen: 1 → ``1-jén``, 2 → ``2-án``, 18 → ``18-án``."""
    if not 1 <= day <= 31:
        raise ValueError(f"not a day of the month: {day}")
    if day == 1:
        return "1-jén"
    if day == 2:
        return "2-án"
    suffix = _TENS_SUFFIX[day] if day % 10 == 0 else _UNIT_SUFFIX[day % 10]
    return f"{day}-{suffix}"


def on_date(day: dt.date) -> str:
    """``2020. június 18-án`` -- the date as the object of "on"."""
    year_month = format_date(day, "y. MMMM", locale=LOCALE)
    return f"{year_month} {day_suffix(day.day)}"


# --- Salutations -----------------------------------------------------------
#
# Official letters address the office holder by title and gender:
# "Tisztelt Polgármester Asszony!" / "Tisztelt Polgármester Úr!".  When the
# gender is unknown both forms are written out, which is the polite neutral.

DEFAULT_ROLE = "polgármester"
FEMALE, MALE = "female", "male"


def normalise_role(role: str | None) -> str:
    """``" Polgármester "`` → ``"polgármester"``; empty → the default role."""
    text = " ".join(unicodedata.normalize("NFC", role or "").split()).lower()
    return text or DEFAULT_ROLE


def _title(role: str) -> str:
    # Every word of the title is capitalised in a salutation: "Címzetes Főjegyző".
    return " ".join(word[:1].upper() + word[1:] for word in normalise_role(role).split())


def salutation(role: str | None, gender: str | None) -> str:
    """``Tisztelt Jegyző Asszony!``, ``Tisztelt Jegyző Úr!`` or, gender unknown,
    ``Tisztelt Jegyző Asszony, Jegyző Úr!``."""
    title = _title(role or "")
    if gender == FEMALE:
        return f"Tisztelt {title} Asszony!"
    if gender == MALE:
        return f"Tisztelt {title} Úr!"
    return f"Tisztelt {title} Asszony, {title} Úr!"


# --- Gender from a Hungarian name -------------------------------------------

# Prefixes that are not part of the name: academic titles and "ifjabb",
# "idősebb", "özvegy".  Compared after lower-casing and dropping the dot.
_TITLES = frozenset({"dr", "prof", "ifj", "id", "özv", "phd", "habil", "med", "univ", "vitéz"})
_MARRIED_SUFFIX = "né"


def _name_tokens(name: str) -> list[str]:
    text = unicodedata.normalize("NFC", name)
    tokens = []
    for raw in text.replace(",", " ").split():
        bare = raw.strip(".()").lower()
        if bare and bare not in _TITLES and any(ch.isalpha() for ch in bare):
            tokens.append(raw.strip(".,()"))
    return tokens


@functools.lru_cache(maxsize=1)
def _detector():
    # Imported lazily: parsing the dictionary takes a fifth of a second.
    import gender_guesser.detector

    return gender_guesser.detector.Detector(case_sensitive=False)


def given_name_gender(given: str) -> str | None:
    """Gender of one given name from gender-guesser's dictionary, or None.

    The Hungarian frequency column decides first.  Only "male"/"female" count:
    "mostly_*" and "andy" give None, because a wrong "Úr" to a woman is worse
    than the neutral form.  A name without Hungarian data (e.g. "Bianka")
    falls back to the dictionary only when every country agrees on one gender.
    """
    detector = _detector()
    verdict = detector.get_gender(given, "hungary")
    if verdict in (FEMALE, MALE):
        return verdict
    if verdict == "andy":  # listed, but no Hungarian frequency: any country?
        genders = set(detector.names.get(given.lower(), {}))
        if genders in ({FEMALE}, {MALE}):
            return genders.pop()
    return None


def _is_married_name(token: str) -> bool:
    # "Lászlóné", "Kovácsné", "Kiss-Nagyné"; but not a given name that merely
    # ends in -né (the dictionary knows "René").
    lower = token.lower()
    if not lower.endswith(_MARRIED_SUFFIX) or len(lower) <= len(_MARRIED_SUFFIX) + 1:
        return False
    listed_as = _detector().names.get(lower, {})
    return "male" not in listed_as and "mostly_male" not in listed_as and "andy" not in listed_as


def guess_gender(name: str | None) -> str | None:
    """``"female"``, ``"male"`` or None for a name written family name first.

    "Dr. Szűcs Erzsébet" → female, "ifj. Tóth Ferenc" → male, "Horváth
    Lászlóné" and "Kovácsné Szabó Éva" → female, "Kiss" → None.
    """
    tokens = _name_tokens(name or "")
    if any(_is_married_name(token) for token in tokens):
        return FEMALE
    if len(tokens) < 2:  # a lone word may be either name: do not guess
        return None
    # The family name comes first; the first given name that the dictionary
    # knows decides ("Kiss Lőrinc Péter": Lőrinc is not listed, Péter is).
    for given in tokens[1:]:
        for part in given.split("-"):  # "Anna-Mária"
            gender = given_name_gender(part) if part else None
            if gender:
                return gender
    return None



class Salutation(NamedTuple):
    text: str  # "Tisztelt Jegyző Asszony!"
    kind: str  # "female", "male", "neutral" or "explicit"
    gender: str | None  # the gender the letter assumes; None when neutral or explicit


# 200,000 recipients share a few dozen (role, gender) pairs.
_cached_salutation = functools.lru_cache(maxsize=256)(salutation)


def choose_salutation(role: str, name: str | None = None, *, gender: str | None = None,
                      explicit: str | None = None, neutral: bool = False) -> Salutation:
    """The one rule for picking a salutation, for invitations and reminders alike.

    ``neutral`` (the sheet's rows for one address disagree) writes both forms;
    else an ``explicit`` salutation from the sheet is used as written; else the
    ``gender`` given, or guessed from ``name``, decides, and an unknown gender
    gets the neutral form.
    """
    if neutral:
        return Salutation(_cached_salutation(role, None), "neutral", None)
    if explicit:
        return Salutation(explicit, "explicit", None)
    gender = gender or guess_gender(name)
    return Salutation(_cached_salutation(role, gender), gender or "neutral", gender)


# --- The gender column ------------------------------------------------------
#
# In a Hungarian sheet "F" is férfi (man) and "N" is nő (woman); the English
# reading of "F" as female is deliberately not offered.  "M" (male, männlich)
# is unambiguous.  Accent-less "no" is NOT read as nő: it may mean "no", and
# an unrecognised value only costs a neutral salutation and a warning.
_GENDER_WORDS = {
    FEMALE: ("nő", "n", "female", "woman", "asszony", "hölgy", "holgy", "mrs", "ms", "miss", "w"),
    MALE: ("férfi", "ferfi", "ffi", "f", "male", "man", "m", "úr", "ur", "mr"),
}
_GENDER_LOOKUP = {word: gender for gender, words in _GENDER_WORDS.items() for word in words}


def parse_gender(value: object) -> str | None:
    """Read a gender-column cell: ``"nő"``, ``"N"``, ``"FÉRFI"``, ``"F"``, ``"male"``…

    Returns ``"female"``, ``"male"`` or None for empty or unrecognised values.
    """
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value)).strip().rstrip(".").strip().lower()
    return _GENDER_LOOKUP.get(text)
