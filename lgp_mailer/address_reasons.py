"""Why email-validator refused an address, in the interface language.

email-validator explains in English only, and its sentence lands inside our
messages ("nem e-mail-cím: An email address must have an @-sign.").  Each
reason it gives is listed below as it writes it, with ``{name}`` where it
fills in a value; the English text is the msgid, so an English interface
shows the library's sentence unchanged and the Hungarian catalog translates
it.  A reason that is not listed (a newer email-validator) is shown as the
library wrote it; tests/test_address_reasons.py feeds the library typical
bad addresses and fails when one of its reasons is missing here.
"""

from __future__ import annotations

import functools
import re

from lgp_mailer.i18n import N_, _, current_language
from lgp_mailer.quoting import quoted

# email-validator 2.x (syntax.py), word for word.
REASONS = (
    N_("An email address must have an @-sign."),
    N_("There must be something before the @-sign."),
    N_("There must be something after the @-sign."),
    N_("There can't be anything after the email address."),
    N_("An email address cannot have two periods in a row."),
    N_("An email address cannot have a period and a hyphen next to each other."),
    N_("An email address cannot start with a period."),
    N_("An email address cannot start with a hyphen."),
    N_("An email address cannot end with a period."),
    N_("An email address cannot end with a hyphen."),
    N_("An email address cannot have a period immediately before the @-sign."),
    N_("An email address cannot have a hyphen immediately before the @-sign."),
    N_("An email address cannot have a period immediately after the @-sign."),
    N_("An email address cannot have a hyphen immediately after the @-sign."),
    N_(
        "An email address cannot have two letters followed by two dashes immediately after the @-sign "
        "or after a period, except Punycode."
    ),
    N_("Internationalized characters before the @-sign are not supported."),
    N_("Internationalized characters before the @-sign are not supported: {chars}."),
    N_("The email address contains invalid characters before the @-sign."),
    N_("The email address contains invalid characters before the @-sign: {chars}."),
    N_("The email address contains invalid characters in quotes before the @-sign: {chars}."),
    N_("The part after the @-sign contains invalid characters: {chars}."),
    N_("The part after the @-sign contains invalid characters after Unicode normalization: {chars}."),
    N_("The part after the @-sign contains invalid characters ({reason})."),
    N_("The part after the @-sign contains invalid characters in brackets: {chars}."),
    N_("The email address contains invalid characters after the @-sign after IDNA encoding."),
    N_("The email address contains unsafe characters: {chars}."),
    N_("The email address contains an invalid character."),
    N_("The email address is not valid ASCII."),
    N_("The display name contains invalid characters when not quoted: {chars}."),
    N_("A display name and angle brackets around the email address are not permitted here."),
    N_(
        "An open angle bracket at the start of the email address has to be followed by a close angle bracket "
        "at the end."
    ),
    N_("Quoting the part before the @-sign is not allowed here."),
    N_("A bracketed IP address after the @-sign is not allowed here."),
    N_('The email address has the "{name}" at-sign (@) character instead of a regular at-sign.'),
    N_("The part after the @-sign is not valid. It should have a period."),
    N_("The part after the @-sign is not valid. It is not within a valid top-level domain."),
    N_("The part after the @-sign is a special-use or reserved name that cannot be used with email."),
    N_("The part after the @-sign is not valid IDNA ({reason})."),
    N_("The part after the @-sign is invalid ({reason})."),
    N_("The part after the @-sign became invalid after normalizing to international characters ({reason})."),
    N_("The email address is too long ({count} character too many)."),
    N_("The email address is too long ({count} characters too many)."),
    N_("The email address is too long before the @-sign ({count} character too many)."),
    N_("The email address is too long before the @-sign ({count} characters too many)."),
    N_("The email address is too long after the @-sign ({count} character too many)."),
    N_("The email address is too long after the @-sign ({count} characters too many)."),
    N_("The email address is too long after the @-sign ({count} byte too many after IDNA encoding)."),
    N_("The email address is too long after the @-sign ({count} bytes too many after IDNA encoding)."),
    N_("After the @-sign, periods cannot be separated by so many characters ({count} character too many)."),
    N_("After the @-sign, periods cannot be separated by so many characters ({count} characters too many)."),
)

_FIELD = re.compile(r"\{(\w+)\}")
# How email-validator shows one character: 'á', "\" or its Unicode name (SPACE, ZERO WIDTH SPACE, U+200B).
_SHOWN_CHAR = re.compile(r"'(.)'|\"(.)\"|([A-Z0-9][A-Z0-9 +-]*)")


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    def pattern(reason: str) -> re.Pattern[str]:
        pieces = _FIELD.split(reason)  # text, field, text, field, ..., text
        return re.compile(
            "".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>.+?)" for i, piece in enumerate(pieces))
        )

    return tuple((pattern(reason), reason) for reason in REASONS)


def _characters(shown: str) -> str:
    """email-validator's list of characters, each quoted the interface's way (SPACE → „ ” would be unreadable)."""
    if current_language() == "en":
        return shown
    out = []
    for item in shown.split(", "):
        match = _SHOWN_CHAR.fullmatch(item)
        if match is None:
            return shown
        char = match.group(1) or match.group(2)
        out.append(quoted(char) if char is not None else (_("space") if item == "SPACE" else item))
    return ", ".join(out)


def reason(error: BaseException) -> str:
    """``str(error)`` of an ``EmailNotValidError``, translated when the interface is not English."""
    text = str(error)
    for pattern, template in _patterns():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        values = match.groupdict()
        if "chars" in values:
            values["chars"] = _characters(values["chars"])
        return _(template).format(**values)
    return text
