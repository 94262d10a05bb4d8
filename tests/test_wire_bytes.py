"""A letter's bytes have CRLF line ends as built: the spool sends them without a ``crlf`` pass."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgp_mailer.mail import mime
from lgp_mailer.mail.mime import Envelope, letter_bytes
from lgp_mailer.mail.render import Rendered
from lgp_mailer.smtp.wire import crlf

NOW = dt.datetime(2020, 6, 1, 9, 0, tzinfo=dt.UTC)
# Line breaks of every kind str.splitlines knows, and what QP and headers treat specially.
BREAKS = ["\r\n", "\n", "\r", "\r\r\n", "\n\r", "\x85", "\u2028", "\x0b", "\x0c", "\x1c"]
TRICKY = [*BREAKS, "=", ".", " ", "\t", "😀", "ő"]
# Hypothesis seeds `random` alike for every example, and the boundaries are drawn from it once per
# process: drawn here first, or a mixed and an alternative part of later tests could share one.
for _subtype in ("alternative", "mixed", "related"):
    mime._multipart(_subtype)
text = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=90)), max_size=30).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=text, body=text, html=text, name=text, calendar=st.booleans())
def test_every_line_end_of_a_letter_is_crlf_already(subject, body, html, name, calendar):
    envelope = Envelope(
        from_name="Lokális Önkormányzati Program",
        from_address="meghivo@lgp.example.org",
        to_address="hivatal@telepules.example",
        to_name=name,
        message_id="<m1@lgp.example.org>",
        date=NOW,
        calendar="BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n" if calendar else None,
    )
    raw = letter_bytes(Rendered(subject or "Tárgy", body, html), envelope)
    assert crlf(raw) == raw
