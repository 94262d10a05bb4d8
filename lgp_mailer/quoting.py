"""A value quoted inside an interface message, the way the interface language quotes.

English messages have always shown values as ``repr()`` does ('Lap1'); Hungarian
writes „Lap1”.  Messages therefore say ``{sheet}`` and get ``sheet=quoted(name)``,
so that a translation never has to add or change quote marks around a value.
"""

from __future__ import annotations

from lgp_mailer.i18n import current_language


def quoted(value: object) -> str:
    """``repr(value)`` in English; „value” in Hungarian."""
    if current_language() == "hu":
        return f"„{value}”"
    return repr(value)
