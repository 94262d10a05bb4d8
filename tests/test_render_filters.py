"""The cached text filters are the hungarian module's functions: same values, same types."""

from __future__ import annotations

from markupsafe import Markup

from lgp_mailer import hungarian
from lgp_mailer.mail.render import _environment


def test_cached_text_filters_give_what_the_functions_give() -> None:
    filters = _environment((), html=True).filters
    for value in ("ZOOM", "MTA", "1848", "Egyesület", "„Zöld Falu” program", "", 5, Markup("<b>ENSZ</b>"), "ZOOM"):
        assert filters["article"](value) == hungarian.article(value)
        assert filters["sentence"](str(value)) == hungarian.as_sentence(str(value))
        assert filters["continuation"](str(value)) == hungarian.as_continuation(str(value))
        assert filters["quote"](str(value)) == hungarian.quote(str(value))
        assert filters["nest_quotes"](value) == hungarian.nest_quotes(value)
        assert type(filters["nest_quotes"](value)) is type(hungarian.nest_quotes(value))
