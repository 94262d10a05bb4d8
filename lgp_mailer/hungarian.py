"""Hungarian language rules: dates, times, salutations and names as official letters write them.

Month and weekday names come from Babel's CLDR data, never from a table
typed in here; given names' genders come from the official register of
Hungarian given names (shipped under data/utonevek), with gender-guesser's
dictionary as the fall-back for foreign names.  The day-number suffix
("18-án", "1-jén"), the salutation pattern, the name rules (titles, the
married "-né", name order), the article a/az and the nesting of quotation
marks are our own, because no library has them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

from babel.dates import format_date, format_time

from lgp_mailer.roles import INSTITUTION, OFFICE, Role, fold, is_title_word, may_name_institution, read_role

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
# The role cell is read against a vocabulary (lgp_mailer.roles); README's
# "Salutation rules" section is the table of every case.

DEFAULT_ROLE = "polgármester"
FEMALE, MALE = "female", "male"
# No person behind the address ("Polgármesteri Hivatal", no name, no gender).
INSTITUTION_SALUTATION = "Tisztelt Címzett!"
# A person whose office the vocabulary does not know: address without a title.
_UNTITLED = {FEMALE: "Tisztelt Hölgyem!", MALE: "Tisztelt Uram!"}
UNTITLED_NEUTRAL = "Tisztelt Hölgyem, Uram!"


def normalise_role(role: str | None) -> str:
    """``" Polgármester Asszony "`` → ``"polgármester asszony"``, ``"PM"`` → ``"polgármester"``;
    empty → the default role.  Stable: normalising twice changes nothing."""
    read = read_role(role)
    return read.canonical if read else DEFAULT_ROLE


def role_of(role: str | None) -> Role:
    """The role cell read against the vocabulary; an empty cell is the default role."""
    return read_role(role) or read_role(DEFAULT_ROLE)  # type: ignore[return-value]  # the default role is in the vocabulary


def salutation(role: str | None, gender: str | None, *, person: bool = True) -> str:
    """``Tisztelt Jegyző Asszony!``, ``Tisztelt Jegyző Úr!`` or, gender unknown,
    ``Tisztelt Jegyző Asszony, Jegyző Úr!``.

    ``gender`` (from a gender column or the name) wins over an "asszony"/"úr"
    in the role cell.  An institution with no person behind it (``person``
    False and no gender) gets :data:`INSTITUTION_SALUTATION`; an unknown role
    gets "Tisztelt Hölgyem!", "Tisztelt Uram!" or :data:`UNTITLED_NEUTRAL`.
    """
    read = role_of(role)
    gender = gender or read.gender
    if read.kind == OFFICE:
        title = read.title
        if gender == FEMALE:
            return f"Tisztelt {title} Asszony!"
        if gender == MALE:
            return f"Tisztelt {title} Úr!"
        return f"Tisztelt {title} Asszony, {title} Úr!"
    if read.kind == INSTITUTION and gender is None and not person:
        return INSTITUTION_SALUTATION
    return _UNTITLED.get(gender or "", UNTITLED_NEUTRAL)


# --- Given names: the official register ------------------------------------
#
# The register of given names approved for registration, kept by the HUN-REN
# Hungarian Research Centre for Linguistics (NYTI); see data/utonevek/SOURCE.md.
# gender-guesser stays as the fall-back for names the register lacks (foreign
# names, nicknames such as "Gabi").

_REGISTER_FILES = {FEMALE: "osszesnoi.txt", MALE: "osszesffi.txt"}
# Latin-1 look-alikes that old exports write for ő and ű.
_LOOKALIKES = str.maketrans({"õ": "ő", "Õ": "Ő", "û": "ű", "Û": "Ű", "ô": "ő", "Ô": "Ő"})


@dataclass(frozen=True)
class Register:
    names: dict[str, tuple[str, ...]]  # gender → names as the register spells them
    titles: dict[str, str]  # gender → the file's first line ("... férfinevek -- 2020. november 1.")

    @functools.cached_property
    def genders(self) -> dict[str, frozenset[str]]:
        """Case-folded name → the genders whose list holds it."""
        found: dict[str, set[str]] = {}
        for gender, names in self.names.items():
            for name in names:
                found.setdefault(name.casefold(), set()).add(gender)
        return {name: frozenset(genders) for name, genders in found.items()}

    @functools.cached_property
    def folded(self) -> dict[str, frozenset[str]]:
        """Accent-free name → genders: "Janos" and "Zsofia" from sheets typed without accents."""
        found: dict[str, set[str]] = {}
        for name, genders in self.genders.items():
            found.setdefault(fold(name), set()).update(genders)
        return {name: frozenset(genders) for name, genders in found.items()}


@functools.lru_cache(maxsize=1)
def register() -> Register:
    """The shipped register, read once from the package data."""
    folder = resources.files("lgp_mailer") / "data" / "utonevek"
    names: dict[str, tuple[str, ...]] = {}
    titles: dict[str, str] = {}
    for gender, file in _REGISTER_FILES.items():
        lines = (folder / file).read_text(encoding="utf-8").splitlines()
        titles[gender] = lines[0].strip()
        names[gender] = tuple(unicodedata.normalize("NFC", line.strip()) for line in lines[1:] if line.strip())
    return Register(names, titles)


@functools.lru_cache(maxsize=4096)  # a sheet's names share their words
def register_genders(given: str) -> frozenset[str]:
    """The register lists that hold ``given`` (empty when neither does)."""
    key = unicodedata.normalize("NFC", given).translate(_LOOKALIKES).casefold()
    reg = register()
    # The exact spelling first; only a name the register lacks is compared
    # without accents (a name on both lists that way gives both genders).
    return reg.genders.get(key) or reg.folded.get(fold(key), frozenset())


# --- Gender from a Hungarian name -------------------------------------------

# Prefixes that are not part of the name: academic titles and "ifjabb",
# "idősebb", "özvegy".  Compared after lower-casing and dropping the dot.
_TITLES = frozenset({"dr", "prof", "ifj", "id", "özv", "phd", "habil", "med", "univ", "vitéz"})
_MARRIED_SUFFIX = "né"


_WORDS = re.compile(r"\S+")
_AND = frozenset({"és", "and", "meg", "valamint"})  # between two people's names, not a job


def _split_name(name: str) -> tuple[list[str], str]:
    """The name's words, titles left out, and the text after the name as written.

    The name ends at an office or title word ("Gál Boglárka polgármester") and, in a
    capitalised name of two words or more, at a word in small letters that is no given
    name ("Máté Róbert referens"): neither is anyone's name.
    """
    text = unicodedata.normalize("NFC", name)
    tokens: list[tuple[str, int]] = []  # (word, where it starts)
    capitalised = False
    for match in _WORDS.finditer(text.replace(",", " ")):
        raw = match.group()
        bare = raw.strip(".()").lower()
        if not bare or bare in _TITLES:
            continue
        word = raw.strip(".,()")
        first = next((ch for ch in word if ch.isalpha()), "")
        job = first.islower() and bare not in _AND and not register_genders(word)  # "referens", not "és"
        if is_title_word(raw) or (capitalised and len(tokens) >= 2 and job):
            # Words between the name and the office that are no given names go with the
            # office: "Bogdán Klotild Roma Nemzetiségi Önkormányzat elnöke", "NNÖ elnök".
            start = match.start()
            while len(tokens) > 2 and not _may_be_given(tokens[-1][0]):
                start = tokens.pop()[1]
            return [word for word, _at in tokens], text[start:].strip()
        if first:
            capitalised = capitalised or (not tokens and first.isupper())
            tokens.append((word, match.start()))
    return [word for word, _at in tokens], ""


def _name_tokens(name: str) -> list[str]:
    return _split_name(name)[0]


def words_after_name(name: str) -> str:
    """The text a name cell writes after the name: ``"Kovács Anna jegyző"`` → ``"jegyző"``;
    ``""`` for a name alone.  A cell that is only an office ("Polgármester") is all of it."""
    return _split_name(name)[1]


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    # Imported lazily: parsing the dictionary takes a fifth of a second.
    import gender_guesser.detector  # noqa: PLC0415 - its name dictionary loads slowly; only for names the register lacks

    return gender_guesser.detector.Detector(case_sensitive=False)


def given_name_gender(given: str) -> str | None:
    """Gender of one given name: the register first, then gender-guesser; or None.

    A name on both of the register's lists gives None.  For a name the
    register lacks, gender-guesser's Hungarian column decides first; only
    "male"/"female" count ("mostly_*" and "andy" give None, because a wrong
    "Úr" to a woman is worse than the neutral form), except that a name
    without Hungarian data falls back to the dictionary when every country
    agrees on one gender.
    """
    listed = register_genders(given)
    if listed:
        return next(iter(listed)) if len(listed) == 1 else None
    detector = _detector()
    verdict = detector.get_gender(given, "hungary")
    if verdict in (FEMALE, MALE):
        return str(verdict)
    if verdict == "andy":  # listed, but no Hungarian frequency: any country?
        genders: set[str] = set(detector.names.get(given.lower(), {}))
        if genders in ({FEMALE}, {MALE}):
            return genders.pop()
    return None


def _is_married_name(token: str) -> bool:
    # "Lászlóné", "Kovácsné", "Kiss-Nagyné"; but not a given name that merely
    # ends in -né (the register lists "René").
    lower = token.lower()
    if not lower.endswith(_MARRIED_SUFFIX) or len(lower) <= len(_MARRIED_SUFFIX) + 1:
        return False
    if register_genders(token):
        return False
    listed_as = _detector().names.get(lower, {})
    return "male" not in listed_as and "mostly_male" not in listed_as and "andy" not in listed_as


def _is_given(token: str) -> bool:
    parts = [part for part in token.split("-") if part]
    return bool(parts) and all(register_genders(part) for part in parts)


def _may_be_given(token: str) -> bool:
    # The last word blocks the "Given Family" reading when any list knows it as
    # a given name: "Farkas Gabi" stays family-first ("Gabi" is a nickname).
    names = _detector().names
    return any(register_genders(part) or part.lower() in names for part in token.split("-") if part)


@dataclass(frozen=True, slots=True)
class NameReading:
    gender: str | None  # "female", "male" or None
    given_first: bool = False  # read as "Given Family" ("János Kovács")
    given: str | None = None  # the given name that gave the gender, as written
    married: str | None = None  # the married woman's name that gave it ("Kovácsné"), as written
    doubt: tuple[str, str] | None = None  # (a woman's given name, a man's): "Szilvia Kende", either order
    people: int = 1  # people named in the cell ("Kovács János és Kovács Anna": 2)


def read_name(name: str | None) -> NameReading:
    """Gender and order of a personal name.

    Hungarian order (family name first) is assumed, unless the first word is
    in the register of given names and the last is not: then the name is
    read as "Given Family" and ``given_first`` is True so the caller can warn.
    """
    persons = _persons(name or "")
    if len(persons) > 1:  # "Kovács János és Kovács Anna": greet both only if both agree
        readings = [read_name(person) for person in persons]
        return readings[0] if len({r.gender for r in readings}) == 1 else NameReading(None, people=len(persons))
    tokens = _name_tokens(name or "")
    married = next((token for token in tokens if _is_married_name(token)), None)
    if married is not None:
        return NameReading(FEMALE, married=married)
    if len(tokens) < 2:  # a lone word may be either name: do not guess
        return NameReading(None)
    given_first = _is_given(tokens[0]) and not _may_be_given(tokens[-1])
    # The first given name that has a gender decides ("Kiss Lőrinc Péter").
    gender, part = _first_gender(tokens[:-1] if given_first else tokens[1:])
    if gender and not given_first and register_genders(tokens[0]) == {FEMALE}:
        # "Szilvia Kende" read family name first is a man; given name first, a woman. A woman's
        # given name is a family name only now and then ("Rózsa Sándor"): either may be meant.
        other, first = _first_gender(tokens[:-1])
        if other and other != gender:
            return NameReading(None, doubt=(first or tokens[0], part or tokens[-1]))
    if gender:
        return NameReading(gender, given_first, part)
    if not given_first and not _may_be_given(tokens[-1]):
        # A foreign name written given name first ("John Smith"): the register lacks
        # "John", so only gender-guesser can tell, and only when the last word is no name.
        for part in tokens[0].split("-"):
            gender = given_name_gender(part) if part else None
            if gender:
                return NameReading(gender, True, part)
    return NameReading(None, given_first)


# Between two people in one name cell: ";", a line break, "és", "&", "+", "/", a spaced dash,
# and a comma (which also stands before a title: "Kovács Ferenc, dr.", or in "Kovács, Ferenc").
_PERSON_SEPARATORS = re.compile(r"\s*(?:[;\n&+/,]|\bés\b|\band\b|\s[-–]\s)\s*")


def _persons(name: str) -> list[str]:
    """The people a name cell names: a piece of fewer than two name words joins its neighbour."""
    persons: list[str] = []
    for piece in _PERSON_SEPARATORS.split(name):
        if persons and (len(_name_tokens(piece)) < 2 or len(_name_tokens(persons[-1])) < 2):
            persons[-1] = f"{persons[-1]} {piece}"
        else:
            persons.append(piece)
    return persons


def _first_gender(tokens: list[str]) -> tuple[str | None, str | None]:
    """The gender of the first word (or part of "Anna-Mária") that has one, and that part."""
    for given in tokens:
        for part in given.split("-"):
            gender = given_name_gender(part) if part else None
            if gender:
                return gender, part
    return None, None


@functools.lru_cache(maxsize=4096)
def read_given_names(given: str) -> NameReading:
    """Gender of a given-name cell ("Anna Mária", "Jánosné"): its order is known, so no word is a family name."""
    tokens = _name_tokens(given)
    married = next((token for token in tokens if _is_married_name(token)), None)
    if married is not None:
        return NameReading(FEMALE, married=married)
    gender, part = _first_gender(tokens)
    return NameReading(gender, False, part)


def guess_gender(name: str | None) -> str | None:
    """``"female"``, ``"male"`` or None for a personal name.

    "Dr. Szűcs Erzsébet" → female, "ifj. Tóth Ferenc" → male, "Horváth
    Lászlóné" and "Kovácsné Szabó Éva" → female, "János Kovács" → male,
    "Kiss" → None.
    """
    return read_name(name).gender


class Salutation(NamedTuple):
    text: str  # "Tisztelt Jegyző Asszony!"
    kind: str  # "female", "male", "neutral" or "explicit"
    gender: str | None  # the gender the letter assumes; None when neutral or explicit
    given_first: bool = False  # the name was read "Given Family" (worth a warning)


@functools.lru_cache(maxsize=16)  # a recipient's name is asked about a few times in a row
def is_person(name: str | None) -> bool:
    """A name cell that names a person, not an institution ("Polgármesteri Hivatal")."""
    if not name:
        return False
    if not may_name_institution(name):  # most names: no institution word, nothing more to read
        return True
    read = read_role(name)
    return read is None or read.kind != INSTITUTION


# 200,000 recipients share a few dozen (role, gender) pairs and far fewer names than rows.
_cached_salutation = functools.lru_cache(maxsize=256)(salutation)
_cached_reading = functools.lru_cache(maxsize=8192)(read_name)


def forget_names() -> None:
    """Empty the caches of names and roles read (at most ~5 MiB): after a sheet of
    100,000 rows they hold thousands of names that a send reads no more."""
    _cached_reading.cache_clear()
    read_given_names.cache_clear()
    register_genders.cache_clear()
    read_role.cache_clear()
    fold.cache_clear()


def choose_salutation(
    role: str,
    name: str | None = None,
    *,
    gender: str | None = None,
    explicit: str | None = None,
    neutral: bool = False,
    given: str | None = None,
) -> Salutation:
    """The one rule for picking a salutation, for invitations and reminders alike.

    ``neutral`` (the sheet's rows for one address disagree) writes both forms;
    else an ``explicit`` salutation from the sheet is used as written; else the
    ``gender`` given, then "asszony"/"úr" in the role, then the name's given
    name decides, and an unknown gender gets the neutral form.  A name cell
    that names an institution is nobody's name (see README, Salutation rules).
    ``given`` is the given-name cell of a sheet that writes the name in two
    columns: it alone gives the name's gender.
    """
    person = is_person(name)
    if neutral:
        return Salutation(_cached_salutation(role, None, person=person), "neutral", None)
    if explicit:
        return Salutation(explicit, "explicit", None)
    if given and person:
        reading = read_given_names(given)
    else:
        reading = _cached_reading(name) if person and name else NameReading(None)
    gender = gender or role_of(role).gender or reading.gender
    return Salutation(_cached_salutation(role, gender, person=person), gender or "neutral", gender, reading.given_first)


def people_named(name: str | None) -> int:
    """How many people a name cell names when they do not share a gender (else 1)."""
    return _cached_reading(name).people if name else 1


def unclear_order(name: str | None) -> tuple[str, str] | None:
    """(a woman's given name, a man's) when ``name`` reads as either gender by its order
    ("Szilvia Kende", "Rózsa Sándor"), else None."""
    return _cached_reading(name).doubt if name else None


class Contradiction(NamedTuple):
    source: str  # "gender" (the gender column) or "role" (an "asszony"/"úr" in the role cell)
    gender: str  # the gender the salutation takes from that source
    given: str  # the given name, as written, that the register lists under the other gender only
    married: bool = False  # ``given`` is a married woman's name ("Kovácsné"), not a given name


def contradiction(
    role: str, name: str | None, gender: str | None = None, *, given: str | None = None
) -> Contradiction | None:
    """The gender :func:`choose_salutation` takes from the gender column or the
    role cell when the name's given name says the other one, else None.

    Only a given name on exactly one of the register's lists counts: a name on
    both or a foreign name that only gender-guesser knows never contradicts.
    A married woman's "-né" name contradicts a male gender.  The salutation is
    not changed.
    """
    source, said = ("gender", gender) if gender else ("role", role_of(role).gender)
    if said is None or not name or not is_person(name):
        return None
    reading = read_given_names(given) if given else _cached_reading(name)
    if reading.married is not None:  # "Kovácsné Szabó Éva" is a woman whatever her given name
        return Contradiction(source, said, reading.married, married=True) if said == MALE else None
    given = reading.given
    listed = register_genders(given) if given else frozenset()
    if given is None or len(listed) != 1 or said in listed:
        return None
    return Contradiction(source, said, given)


# --- The gender column ------------------------------------------------------
#
# In a Hungarian sheet "F" is férfi (man) and "N" is nő (woman); the English
# reading of "F" as female is deliberately not offered.  "M" (male, männlich)
# is unambiguous.  Accent-less "no" is NOT read as nő: it may mean "no", and
# an unrecognised value only costs a neutral salutation and a warning.
_GENDER_WORDS = {
    # "nö", "nõ", "nô": nő typed on a keyboard or read in a code page without ő.
    FEMALE: ("nő", "nö", "nõ", "nô", "n", "female", "woman", "asszony", "hölgy", "holgy", "mrs", "ms", "miss", "w"),
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


# --- The definite article: a or az, by pronunciation ------------------------

_VOWELS = frozenset("aáeéiíoóöőuúüű")
# Letters whose Hungarian names begin with a vowel sound: ef, el, el-ipszilon,
# em, en, eny, er, es, esz, iksz, ipszilon.  An acronym read letter by letter
# ("MTA": em-té-á) takes "az" when its first letter is one of these.
_VOWEL_LETTER_NAMES = frozenset({"f", "l", "ly", "m", "n", "ny", "r", "s", "sz", "x", "y"})
# Hungarian two- and three-letter consonants, longest first.
_DIGRAPHS = ("dzs", "cs", "dz", "gy", "ly", "ny", "sz", "ty", "zs")
_LEADING = " \t\u00a0„“”\"'‘’»«([{"
# A number with optional thousands groups: "1848", "1 000 000", "2027-es".
_NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+")
_WORD = re.compile(r"[^\W\d_]+")


def article(text: object) -> str:
    """``a`` or ``az`` before ``text``, as it is read aloud.

    - a word: by its first letter (az Egyesület, a ZOOM);
    - a number: by its first spoken word (az 1, az 5, az 50, az 500, az 1848,
      a 2027-es, a 10);
    - an acronym in capitals: a consonant followed by a vowel is read as a word
      (a NATO, a MÁV), otherwise letter by letter (az MTA, az SZTE, a KSH).
    """
    word = str(text).lstrip(_LEADING)
    if not word:
        return "a"
    if word[0].isdigit():
        return "az" if _number_starts_with_vowel(word) else "a"
    match = _WORD.match(word)
    letters = match.group() if match else word[:1]
    if letters.isupper() and (len(letters) > 1 or len(word) == 1 or not word[1].isalpha()):
        return "az" if _acronym_starts_with_vowel(letters) else "a"
    return "az" if letters[0].lower() in _VOWELS else "a"


_OWN_ARTICLE = re.compile(r"(?:az?)\s", re.IGNORECASE)


def starts_with_article(text: object) -> bool:
    """Whether ``text`` begins with the article a/az itself (``Az „Okos Falu” díj``).

    Such a title takes no second article before it: "regisztrált „Az … ” című
    konferenciánkra", not "az „Az …”" (the title's own article stands for both).
    """
    return bool(_OWN_ARTICLE.match(str(text).lstrip(_LEADING)))


def _first_letter(text: str) -> str:
    lower = text.lower()
    return next((d for d in _DIGRAPHS if lower.startswith(d)), lower[:1])


def _acronym_starts_with_vowel(acronym: str) -> bool:
    first = _first_letter(acronym)
    if first[0] in _VOWELS:
        return True
    rest = acronym[len(first) :].lower()
    if rest[:1] in _VOWELS:  # read as a word: NATO, MÁV, MOL
        return False
    return first in _VOWEL_LETTER_NAMES


def _number_starts_with_vowel(text: str) -> bool:
    """Whether the number's spoken form begins with a vowel: egy, öt, ötven, ötszáz, ezer."""
    match = _NUMBER.match(text)
    digits = "".join(ch for ch in match.group() if ch.isdigit()) if match else "0"
    if len(digits) > 1 and digits[0] == "0":
        return False  # "05" is read digit by digit: nulla-öt
    value = int(digits)
    if value == 0:
        return False  # nulla
    groups = []
    while value:
        value, group = divmod(value, 1000)
        groups.append(group)
    lead = groups[-1]
    if lead == 1 and len(groups) > 1:
        return True  # ezer, egymillió
    if lead >= 100:
        return lead // 100 == 5  # ötszáz; száz, kétszáz ... kilencszáz
    if lead >= 10:
        return lead // 10 == 5  # ötven; tíz, húsz ... kilencven
    return lead in (1, 5)  # egy, öt


# --- Quotation marks ---------------------------------------------------------
#
# Hungarian quotes with „…”; a quotation inside a quotation uses »…«, and one
# inside that ’…’ (AkH. 12th ed., 256.): „… »… ’…’ …« …”.

_INNER_QUOTES = re.compile(r"[„“\"]([^„“”\"]*)[”“\"]")
_THIRD_LEVEL = str.maketrans("»«", "’’")


def nest_quotes(text: str) -> str:
    """Turn quotation marks inside ``text`` into »…«, for text that will stand in „…”.

    ``A „Zöld Falu” program`` → ``A »Zöld Falu« program``; a »…« already inside
    those marks goes one level deeper, to ’…’.
    """
    return _INNER_QUOTES.sub(lambda m: f"»{m[1].translate(_THIRD_LEVEL)}«", str(text))


def quote(text: str) -> str:
    """``„text”`` with any quotation inside it as »…«."""
    return f"„{nest_quotes(text)}”"


# --- Sentences from event-file fragments --------------------------------------

_FINAL = (".", "!", "?", "…")


def as_sentence(text: str) -> str:
    """A fragment as a sentence of its own: capital first letter, a full stop at the end.

    ``nem kell telepíteni semmit`` → ``Nem kell telepíteni semmit.``
    """
    text = " ".join(str(text).split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith(_FINAL) else text + "."


def as_continuation(text: str) -> str:
    """A fragment that continues a sentence ("9.30 órától …"): small first letter
    unless the first word is an acronym, and a full stop at the end."""
    text = " ".join(str(text).split())
    if not text:
        return text
    if not (len(text) > 1 and text[1].isupper()):
        text = text[0].lower() + text[1:]
    return text if text.endswith(_FINAL) else text + "."
