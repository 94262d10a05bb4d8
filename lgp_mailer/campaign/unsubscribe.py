"""When a reply is a request to be left out, and when a person must read it.

Suppressing an address is for good, in every campaign, so a reply counts as
an unsubscribe request only when all of these hold (README, "Opt-outs and
bounces"):

1. after the quoted text is stripped (lines starting with ">", and everything
   from "Feladó:", "From:", "-----Eredeti üzenet-----", "… írta:" or
   "On … wrote:" on), a stem of :data:`STEMS` appears in the subject or in
   the first 3 non-empty lines;
2. the remaining text is under :data:`MAX_CHARS` characters: a long letter
   is a letter, not a request;
3. once the stems and the refusals that go with them ("nem kíván részt
   venni", "nem érdekel") are taken out, no word of attendance or negation
   is left ("ott leszünk", "részt veszünk", "nem", "sem", "not"…): "Ott
   leszünk! (A leiratkozás gombot nem találom…)" is an attendee.

A reply that mentions unsubscribing in its own words but fails a rule is
:data:`REVIEW`: listed for a person, never suppressed on its own.
"""

from __future__ import annotations

import re

from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted

MAX_CHARS = 300
HEAD_LINES = 3
UNSUBSCRIBE, REVIEW, NONE = "unsubscribe", "review", ""

# Stems of asking to be left out, Hungarian and English, as written (with or
# without accents).  Each matches inside a word: "leiratkozásomat", "iratkozzanak le".
STEMS = re.compile(
    r"leiratkoz|leiratkoztat"
    r"|\ble\b[^.!?\n]{0,30}\biratkoz|\biratkoz\w*\s+(?:\w+\s+)?le\b"
    r"|\bne\s+k[üu]ldj[eéö]\w*|\bne\s+k[üu]ldjetek"
    r"|t[öo]r[öo]lj[eé]nek\b[^.!?\n]{0,40}?(?:list|c[íi]m|levelez)|t[öo]r[öo]lj[eé]k\b[^.!?\n]{0,40}?(?:list|c[íi]m)"
    r"|\bnem\s+k[ée]r(?:ek|[üu]nk)\s+(?:t[öo]bb|tov[áa]bbi)"
    r"|\bunsubscrib\w*|\bopt[\s-]?out\b|\bremove\s+me\b",
    re.IGNORECASE,
)
# Refusals that go with a request to be left out; taken out before rule 3.
_CONSISTENT = re.compile(
    r"\bnem\s+(?:k[íi]v[áa]n\w*|tud\w*|fog\w*|szeretn\w*)\s+r[ée]szt\s+venni"
    r"|\bnem\s+veszünk\s+r[ée]szt|\bnem\s+[ée]rdekel\w*|\bnem\s+k[ée]r\w*",
    re.IGNORECASE,
)
ATTENDANCE = re.compile(
    r"\bott\s+lesz\w*|\br[ée]szt\s+ve(?:sz|ssz|nn|tt)\w*|\bjelentkez\w*|\bregisztr[áa]l\w*|\bcsatlakoz\w*"
    r"|\bel(?:megy|jö)\w*|\bmegyünk\b|\bj[öo]vünk\b|\battend\w*|\bjoin\w*|\bsee\s+you\b",
    re.IGNORECASE,
)
NEGATION = re.compile(r"\bnem\b|\bne\b|\bsem\b|\bnincs\w*|\bsoha\b|\bnot\b|\bdon'?t\b|\bnever\b|\bno\b", re.IGNORECASE)
_QUOTE_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|eredeti üzenet|forwarded message|továbbított üzenet)"
    r"|(?:from|feladó)\s*:|on .{0,200} wrote:$|.{0,200}\b(?:írta|ezt írta)\s*:?$)",
    re.IGNORECASE,
)
# A mention worth a person's eye (rule 1's stems, and the looser word forms).
_MENTION = re.compile(r"iratkoz|unsubscrib|t[öo]r[öo]l\w*\s.{0,40}list", re.IGNORECASE)


def own_text(body: str) -> str:
    """``body`` without quoted text: ">" lines dropped, everything from a quote header on cut."""
    lines: list[str] = []
    for line in body.splitlines():
        if _QUOTE_START.match(line):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    return "\n".join(lines).strip()


def judge(subject: str, body: str) -> tuple[str, str]:
    """(UNSUBSCRIBE, why), (REVIEW, why) or (NONE, "") for a person's reply."""
    text = own_text(body)
    head = "\n".join([line for line in text.splitlines() if line.strip()][:HEAD_LINES])
    found = STEMS.search(subject) or STEMS.search(head)
    if found is None:
        mention = _MENTION.search(subject) or _MENTION.search(text)
        return (
            (REVIEW, _("mentions {mention}, but not as a request").format(mention=quoted(mention.group(0))))
            if mention
            else (NONE, "")
        )
    where = (
        _("subject {subject}").format(subject=quoted(subject))
        if STEMS.search(subject)
        else _("body {found}").format(found=quoted(found.group(0)))
    )
    if len(text) >= MAX_CHARS:
        return REVIEW, _("{where}, in a letter of {count} characters").format(where=where, count=len(text))
    rest = _CONSISTENT.sub(" ", STEMS.sub(" ", f"{subject}\n{text}"))
    other = ATTENDANCE.search(rest) or NEGATION.search(rest)
    if other is not None:
        return REVIEW, _("{where}, but also {other}").format(where=where, other=quoted(other.group(0)))
    return UNSUBSCRIBE, where


__all__ = ["ATTENDANCE", "MAX_CHARS", "NEGATION", "NONE", "REVIEW", "STEMS", "UNSUBSCRIBE", "judge", "own_text"]
