"""One cell at a time: clean text, split and validate addresses, spot mojibake.

Cells arrive with what copy-paste from web pages leaves behind: no-break and
zero-width spaces, ``mailto:`` links, ``Kovács János <kovacs@pelda.hu>``,
two addresses in one cell.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from lgp_mailer import address_reasons
from lgp_mailer.i18n import _

# Zero-width characters and the soft hyphen vanish; no-break spaces become
# spaces (str.split() already treats them as whitespace).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Values that exports write for "nothing": never a municipality or a name.
_PLACEHOLDERS = frozenset(
    {"none", "nan", "null", "nil", "n/a", "#n/a", "-", "--", "#ref!", "#value!", "#name?", "#div/0!", "#null!", "#num!"}
)
_TEMPLATE_MARKS = ("{{", "}}", "{%", "%}", "{#", "#}")
_MAILTO = re.compile(r"^\s*mailto:\s*", re.IGNORECASE)
_ANGLE = re.compile(r"<([^<>]*)>")
_QUOTED = re.compile(r'"[^"]*"')
_LABEL = re.compile(r"^\s*(?:e-?mail(?:\s*c[ií]m)?|c[ií]m)\s*:\s*", re.IGNORECASE)  # "E-mail: pm@x.hu"
_COMMENT = re.compile(r"\([^()@]*\)")
_PAREN = re.compile(r"\(\s*(?:mailto:)?([^()\s]+@[^()\s]+?)\s*\)")
# An office or a person written before an address: "Polgármester: pm@x.hu", "Jegyző úr: j@x.hu".
# It starts a cell or follows a separator, holds no "@", and an address follows it.
_ROLE_LABEL = re.compile(r"(?:^|(?<=[\s;,(]))[^\W\d_][\w .'-]{0,60}?:\s*(?=[^\s@:;,<>\"()]+@)")
# A link copied from a web page: "mailto:a@x.hu?subject=…&cc=b@y.hu" (RFC 6068), percent-encoded.
_MAILTO_URI = re.compile(r"mailto:\s*([^\s?;<>\"]*)(\?[^\s;<>\"]*)?", re.IGNORECASE)
_SIMPLE_SPLIT = re.compile(r"[;,]")
# Between two addresses in one part: a line break (Alt+Enter, read as a space), a
# slash or a conjunction.  Split on only when the part holds two "@"s.
_GAP_SPLIT = re.compile(r"\s+(?:(?:/|\||&|\+|és|vagy|and|or)\s+)?|/", re.IGNORECASE)
# Characters that Hungarian text gets when read with the wrong code page:
# õ/û are ő/ű through Latin-1/cp1252; Ã, Å, Â, Ă, Ĺ lead UTF-8 read as cp1252/cp1250.
# √ and ≈ lead UTF-8 read as Mac Roman ("Kov√°cs", "Gy≈ër").
_MOJIBAKE_HINT = re.compile("[õûÕÛÃÅÂĂĹ√≈]")
_WESTERN_FIX = str.maketrans("õûÕÛ", "őűŐŰ")


def clean_text(value: str | None) -> str:
    """NFC, invisible characters removed, whitespace collapsed and trimmed."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value).translate(_INVISIBLE)
    return " ".join(text.split())


def clean_field(value: str | None) -> str:
    """Like :func:`clean_text`, and export placeholders ("nan", "#N/A") read as empty."""
    text = clean_text(value)
    return "" if text.lower() in _PLACEHOLDERS else text


def has_template_marks(text: str) -> bool:
    if "{" not in text and "}" not in text:  # every mark has a brace: the usual cell is done here
        return False
    return any(mark in text for mark in _TEMPLATE_MARKS)


def split_addresses(cell: str) -> list[str]:
    """The address candidates in a cell, in order; separators are ``;`` and ``,``, and
    between two addresses also a line break, a space, ``/`` or ``és``.

    With ``Name <address>`` wrappers the bracketed part is the address, and
    pieces without an "@" are display-name fragments ("Kovács, János <…>").
    """
    text = clean_text(cell)
    if ":" in text:  # most cells have none: no pattern is tried on them
        if "mailto:" in text.lower():
            text = _MAILTO_URI.sub(_mailto_addresses, text)
        text = _ROLE_LABEL.sub("", text)
    text = _COMMENT.sub(" ", text).strip()  # "pm@x.hu (titkárság)": a note, as in RFC 5322
    if not text:
        return []
    if '"' not in text and "<" not in text and not _PAREN.search(text):
        parts = [piece for part in _SIMPLE_SPLIT.split(text) for piece in _gaps(part)]
        return [p for p in (_tidy(part) for part in parts) if p]
    wrapped = "<" in text
    candidates = []
    for part in _split_outside_quotes(text):
        # Every bracketed address counts: "Kiss Anna <a@x>" and "Nagy Béla <b@y>" on
        # two lines of one cell have no separator between them.
        inners = _ANGLE.findall(part) or _PAREN.findall(part)  # "Varga Edit (pm@x.hu)" as "<pm@x.hu>"
        # ... and an address written beside a bracketed one ("<a@x> b@y"), not one in quotes.
        outside = _QUOTED.sub(" ", _PAREN.sub(" ", _ANGLE.sub(" ", part)))
        beside = [w for w in outside.split() if "@" in w] if inners else []
        for candidate in (inners + beside) or _gaps(part):
            candidate = _tidy(candidate.strip().strip('"'))
            if candidate and not (wrapped and not inners and "@" not in candidate):
                candidates.append(candidate)
    return candidates


def _mailto_addresses(link: re.Match[str]) -> str:
    """A mailto: link's addresses (its own, and its to/cc/bcc fields), decoded; the subject and body go."""
    from urllib.parse import parse_qsl, unquote  # noqa: PLC0415 - only for a cell with a link

    found = [unquote(link.group(1))]
    for key, value in parse_qsl((link.group(2) or "?")[1:]):
        if key.lower() in ("to", "cc", "bcc"):
            found.append(value)
    return ", ".join(address for address in found if address)


def _gaps(part: str) -> list[str]:
    """``"a@x.hu b@y.hu"`` (two lines of a cell), ``"a@x.hu / b@y.hu"``, ``"a@x.hu és b@y.hu"``:
    split only a part with two "@"s, so a stray space in one address stays its problem."""
    if part.count("@") < 2:
        return [part]
    return [piece for piece in _GAP_SPLIT.split(part.strip()) if piece]


def _tidy(candidate: str) -> str:
    """No ``mailto:`` or "E-mail:" label, no brackets or quotes around the address,
    and no full stop after it (it ends a sentence)."""
    candidate = _MAILTO.sub("", _LABEL.sub("", candidate)).strip()
    if "@" in candidate:
        candidate = candidate.strip("[]{}<>'\"‘’„“”").rstrip(".")
    return candidate


def _split_outside_quotes(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted, angled = False, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angled = True
        elif ch == ">" and not quoted:
            angled = False
        if ch in ";," and not quoted and not angled:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


@dataclass(frozen=True, slots=True)
class Address:
    send: str  # local part as written, domain lower-cased in IDNA (ASCII) form
    key: str  # compared case-insensitively: one recipient per key


class AddressError(ValueError):
    """The candidate is not an address we may send to; str() says why."""


def normalise_address(candidate: str) -> Address:
    """Validate offline with email-validator; a non-ASCII local part is refused."""
    send = _plain_address(candidate)
    if send is None:  # anything but a plain address on a domain read before: the whole check, and its reason
        from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - email_validator loads dnspython; only when a row is read

        try:
            info = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as error:
            raise AddressError(_("not an address: {error}").format(error=address_reasons.reason(error))) from None
        send = f"{info.local_part}@{info.ascii_domain.lower()}"
    return Address(send, send.casefold())


def _plain_address(candidate: str) -> str | None:
    """The send form of a plain ``local@domain`` that ``validate_email`` accepts, read
    with its own parts: the local part by its dot-atom pattern (which it accepts as
    written), the domain by :func:`_domain_reading` (once a domain), the lengths by its
    limit.  None for anything else (quotes, non-ASCII or reserved local parts, a bad
    domain, too long): the caller then asks ``validate_email``, which says why."""
    import email_validator  # noqa: PLC0415 - email_validator loads dnspython; only when a row is read
    from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, DOT_ATOM_TEXT, EMAIL_MAX_LENGTH  # noqa: PLC0415 - as above

    local, at, domain = candidate.partition("@")
    if not at or not domain or domain.startswith("[") or not DOT_ATOM_TEXT.fullmatch(local):
        return None
    if local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:  # validate_email lower-cases these
        return None
    reading = _domain_reading(domain, email_validator.TEST_ENVIRONMENT, email_validator.GLOBALLY_DELIVERABLE)
    if reading is None:
        return None
    unicode_domain, ascii_domain = reading
    longest = max(len(candidate.encode("utf-8")), len(local) + 1 + len(unicode_domain.encode("utf-8")))
    if max(longest, len(local) + 1 + len(ascii_domain)) > EMAIL_MAX_LENGTH:
        return None
    return f"{local}@{ascii_domain.lower()}"


def forget_domains() -> None:
    """Empty the cache of domains read (at most ~0.6 MiB) once a sheet's addresses are all read."""
    _domain_reading.cache_clear()


@functools.lru_cache(maxsize=2048)  # a sheet's addresses share domains: the town hall's, the free mail providers'
def _domain_reading(domain: str, test_environment: bool, globally_deliverable: bool) -> tuple[str, str] | None:
    """email-validator's reading of the part after the @-sign (its Unicode and ASCII
    forms), or None when it refuses it; the costly part of its check, done once a domain."""
    from email_validator import EmailNotValidError  # noqa: PLC0415 - email_validator loads dnspython; only when a row is read
    from email_validator.syntax import validate_email_domain_name  # noqa: PLC0415 - as above

    try:
        info = validate_email_domain_name(
            domain, test_environment=test_environment, globally_deliverable=globally_deliverable
        )
    except EmailNotValidError:
        return None
    return info["domain"], info["ascii_domain"]


def mojibake_hint(text: str) -> str | None:
    """The likely original when ``text`` looks like wrong-code-page mojibake, else None.

    "Gyõr" → "Győr" (cp1250 read as Western); "GyÅ‘r" → "Győr" (UTF-8 read as cp1252);
    "Gy≈ër" → "Győr" (UTF-8 read as Mac Roman).
    """
    if not _MOJIBAKE_HINT.search(text):
        return None
    for codepage in ("cp1252", "cp1250", "mac-roman"):
        try:
            repaired = text.encode(codepage).decode("utf-8")
        except UnicodeError:
            continue
        if repaired != text:
            return repaired
    if any(ch in text for ch in "õûÕÛ"):
        return text.translate(_WESTERN_FIX)
    return None
