"""Hungarian language rules: dates and times as official letters write them.

Month and weekday names come from Babel's CLDR data, never from a table
typed in here.  Only the day-number suffix ("18-án", "1-jén") is a rule of
our own, because no library provides it.
"""

from __future__ import annotations

import datetime as dt

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
