"""What render refuses to send: template syntax and missing values, as whole words, exactly as before."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgp_mailer.mail.render import _find_leak

_LEAKS = re.compile(r"\{\{|\}\}|\{%|%\}|\bNone\b|\b[Nn]a[Nn]\b|\bundefined\b")
_HINTS = ("{{", "}}", "{%", "%}", "None", "nan", "NaN", "undefined")


def reference(text: str) -> str | None:
    """The check as it was written before it was made faster."""
    if any(hint in text for hint in _HINTS):
        match = _LEAKS.search(text)
        return match.group() if match else None
    return None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Kedves Hanna!", None),  # "nan" inside a word
        ("Nonevent, Noneless", None),
        ("undefinedness", None),
        ("Kovács Nanett", None),
        ("érték: nan", "nan"),
        ("érték: NaN.", "NaN"),
        ("None", "None"),
        ("(None)", "None"),
        ("ő None ű", "None"),
        ("a undefined b", "undefined"),
        ("Kedves {{ név }}!", "{{"),
        ("név }}", "}}"),
        ("{% if x", "{%"),
        ("x %}", "%}"),
        ("width: 100%; { margin: 0 }", None),  # one brace or a percent sign is text
        ("{x} 50%", None),
        ("Nan", None),  # not a hint, so not checked (as before)
        ("Nan and banana", "Nan"),  # "nan" is a hint, then the regex finds the word
        ("Nan nan", "Nan"),  # a hint is there: the first match is named
        ("naN {x}", None),
        ("{{x}} Nan", "{{"),
        ("", None),
        ("uniós finanszírozás", None),  # a hint inside a word: the regex runs and finds nothing
        ("finanszírozás: None", "None"),
        ("őNone Noneő _nan nan_ 5NaN NaN5 xundefined", None),  # \b: letters, digits and _ are word characters
        ("Nonő None", "None"),
        ("(nan)", "nan"),
        ("naN nan", "naN"),
    ],
)
def test_leaks_found_as_before(text: str, found: str | None) -> None:
    assert _find_leak(text) == found == reference(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*"{}%NnaoeudfiAÖő _5-.\n", *_HINTS]), max_size=30).map("".join))
def test_the_fast_check_is_the_old_one(text: str) -> None:
    assert _find_leak(text) == reference(text)
