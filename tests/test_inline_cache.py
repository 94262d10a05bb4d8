"""CSS inlined once per letter shape (mail/inline_cache.py): every letter's HTML must be css-inline's own."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgp_mailer.config import load_campaign
from lgp_mailer.event import load_event
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.mail.inline_cache import Tokens, as_text, tokenisable
from lgp_mailer.mail.render import Renderer
from lgp_mailer.sheets.recipients import Recipient

REPO = Path(__file__).resolve().parent.parent
# What the HTML parser and serialiser treat specially, and Hungarian.
SPECIAL = [
    "&",
    "<",
    ">",
    '"',
    "'",
    "\u00a0",
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\x0c",
    "amp;",
    "&#38;",
    "&lt;",
    "<b>",
    "</td>",
    "<!--",
    "😀",
    "őű",
    "„»«”",
    "\ue000",
    "\ue0010\ue001",
    "\ufeff",
]
value = st.lists(st.one_of(st.sampled_from(SPECIAL), st.text(max_size=12)), max_size=6).map("".join)


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(REPO / "lgp-mailer.toml")


def _renderers(campaign, kind: str = "invitation", dirs: tuple[Path, ...] = ()) -> tuple[Renderer, Renderer]:
    """The renderer under test and one that inlines every letter on its own, as before the cache."""
    cached = Renderer((*dirs, *campaign.template_dirs), kind)
    alone = Renderer((*dirs, *campaign.template_dirs), kind)
    alone._shapes = None
    return cached, alone


def _person(n: int, salutation: str, name: str | None, place: str) -> Recipient:
    return Recipient(
        email=f"hivatal{n}@telepules{n}.example", municipalities=(place,), salutation=salutation, name=name
    )


def _outcome(renderer: Renderer, context: Mapping[str, object]) -> object:
    try:
        return renderer.render(context)
    except Exception as error:  # a leak ("None", "{{") is refused by both, with the same words
        return type(error), str(error)


def _same(campaign, cached: Renderer, alone: Renderer, people: list[Recipient]) -> None:
    factory = MessageFactory(campaign, load_event(campaign.event_path), renderer=cached)
    for person in people:
        assert _outcome(cached, factory.context(person)) == _outcome(alone, factory.context(person))


def test_the_shipped_letters_share_one_inlining_and_keep_every_byte(campaign):
    cached, alone = _renderers(campaign)
    assert cached._shapes is not None  # the shipped invitation uses the cache
    people = [_person(n, s, "Kiss Ödön", p) for n, (s, p) in enumerate([("Tisztelt Úr!", "Pécs")] * 3)]
    _same(campaign, cached, alone, people)
    assert [shape is not None for shape in cached._shapes._shapes.values()] == [True]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(salutation=value, place=value, name=value)
def test_any_value_gives_css_inlines_own_html(campaign, salutation, place, name):
    cached, alone = _renderers(campaign)
    ordinary = _person(0, "Tisztelt Polgármester Úr!", "Kiss Ödön", "Bikal")
    _same(campaign, cached, alone, [ordinary, _person(1, salutation or "x", name, place or "y"), ordinary])


def test_the_text_escape_is_the_serialisers():
    assert as_text("a&b<c>d\"e'f\u00a0g") == "a&amp;b&lt;c&gt;d\"e'f&nbsp;g"


# Each: a template line that puts the recipient's values where a token could go wrong.
TRICKY_PLACES = {
    "attribute": '<p title="{{ recipient.salutation }}">{{ recipient.salutation }}</p>',
    "attribute-selector": '<style>p[title$="!"] { color: red; }</style><p title="{{ recipient.salutation }}">x</p>',
    "reference": "<p>AT&{{ recipient.salutation }}</p>",
    "tag": "<{{ recipient.salutation }}>",
    "style": "<style>p { font-family: {{ recipient.salutation }}; }</style><p>x</p>",
    "style-attribute": '<p style="color: {{ recipient.salutation }}">x</p>',
    "table": "<table>{{ recipient.salutation }}<tr><td>x</td></tr></table>",
    "empty": "<style>td:empty { color: red; }</style><table><tr><td>{{ recipient.name or '' }}</td></tr></table>",
    "title": "<title>{{ recipient.salutation }}</title>",
    "pre": "<pre>{{ recipient.salutation }}</pre><textarea>{{ recipient.salutation }}</textarea>",
    "set-block": "{% set s %}{{ recipient.salutation }}{% endset %}<p>{{ s|upper }}</p>",
    "macro": "{% macro m(v) %}{{ v }}{% endmacro %}<p>{{ m(recipient.salutation)|length }}</p>",
    "filter": "{% filter upper %}<p>{{ recipient.salutation }}</p>{% endfilter %}",
    "autoescape": "{% autoescape false %}<p>{{ recipient.salutation }}</p>{% endautoescape %}",
    "safe": "<p>{{ recipient.salutation|safe }}</p>",
    "script": "<script>var s = '{{ recipient.salutation }}';</script>",
}
TRICKY_VALUES = ["Tisztelt Úr!", "Tisztelt Asszony!", "a&b", "amp;", "x\u00a0y", " szóköz ", "", "td", "<i>", "a\r\nb"]


@pytest.mark.parametrize("place", sorted(TRICKY_PLACES))
def test_values_where_a_token_could_go_wrong(tmp_path, campaign, place):
    shipped = (campaign.template_dirs[0] / "invitation.html.j2").read_text(encoding="utf-8")
    body = shipped.replace("<body>\n", "<body>\n" + TRICKY_PLACES[place] + "\n", 1)
    (tmp_path / "invitation.html.j2").write_text(body, encoding="utf-8")
    cached, alone = _renderers(campaign, dirs=(tmp_path,))
    people = [_person(n, v or "x", v or None, "Bikal") for n, v in enumerate(TRICKY_VALUES * 2)]
    _same(campaign, cached, alone, people)
    if place in ("set-block", "macro", "filter", "autoescape"):
        assert cached._shapes is None  # the value does not go straight to the output: no tokens at all
    elif place in ("reference", "tag", "style", "script"):
        assert cached._shapes is not None and None in cached._shapes._shapes.values()  # refused


def test_a_changed_attribute_value_inlines_the_letter_on_its_own(tmp_path, campaign):
    (tmp_path / "invitation.html.j2").write_text(
        '<html><head><style>a { color: red; }</style></head><body><a href="mailto:{{ recipient.email }}">'
        "{{ recipient.email }}</a></body></html>\n",
        encoding="utf-8",
    )
    cached, alone = _renderers(campaign, dirs=(tmp_path,))
    _same(campaign, cached, alone, [_person(n, "Úr!", None, "Bikal") for n in range(3)])
    (shape,) = cached._shapes._shapes.values()
    assert shape is not None and list(shape.attributes.values()) == ["hivatal0@telepules0.example"]


def test_the_changes_of_a_notice_kind_keep_their_bytes(campaign):
    """A kind whose templates import macros (_join.html.j2) renders without tokens, as before."""
    cached, alone = _renderers(campaign, "reminder")
    assert cached._shapes is None
    event = dataclasses.replace(load_event(campaign.event_path))
    factory = MessageFactory(campaign, event, "reminder", renderer=cached)
    person = _person(0, "Tisztelt Úr!", "Kiss Ödön", "Bikal")
    assert cached.render(factory.context(person)) == alone.render(factory.context(person))


def test_only_templates_that_print_straight_are_tokenised(tmp_path, campaign):
    (tmp_path / "invitation.html.j2").write_text('<p>{% include "sub.j2" %}</p>\n', encoding="utf-8")
    (tmp_path / "sub.j2").write_text("{{ recipient.email }}\n", encoding="utf-8")
    (tmp_path / "named.html.j2").write_text("<p>{% include name %}</p>\n", encoding="utf-8")
    (tmp_path / "loop.html.j2").write_text(
        '<p>{% if no %}{% include "loop.html.j2" %}{% endif %}</p>\n', encoding="utf-8"
    )
    env = Renderer((tmp_path, *campaign.template_dirs))._html_env
    assert tokenisable(env, "invitation.html.j2")
    assert not tokenisable(env, "named.html.j2")  # which template is printed is known only at render time
    assert not tokenisable(env, "loop.html.j2")


def test_letters_of_many_shapes_keep_their_bytes(campaign):
    """A value with a space at either end is printed as it is, so each makes its own shape: past the cache's size."""
    cached, alone = _renderers(campaign)
    _same(campaign, cached, alone, [_person(n, f" Tisztelt Úr {n}!", "Kiss Ödön", "Bikal") for n in range(70)])
    assert len(cached._shapes._shapes) == 16  # then it stopped making shapes that no other letter used
    cached._shapes._shapes.clear()
    cached._shapes._used = 10**6  # had they been shared, it would go on, forgetting the oldest
    _same(campaign, cached, alone, [_person(n, f" Tisztelt Úr {n}!", "Kiss Ödön", "Bikal") for n in range(70)])
    assert 0 < len(cached._shapes._shapes) < 64


def test_the_remembered_tests_of_values_are_bounded():
    tokens = Tokens(lambda value: value)
    values: list[str] = []
    tokens.record(values)
    printed = [tokens(f"érték {n}") for n in range(9000)] + [tokens(" szélén szóköz ")]
    tokens.record(None)
    assert printed[:2] == ["\ue0000\ue001", "\ue0001\ue001"] and printed[-1] == " szélén szóköz "
    assert values[8999] == "érték 8999" and len(values) == 9000
    assert tokens("nem rögzít") == "nem rögzít"


def test_token_characters_in_the_template_or_a_value_do_not_pass_for_tokens(tmp_path, campaign):
    (tmp_path / "invitation.html.j2").write_text(
        "<p>\ue0000\ue001 {{ recipient.salutation }} {{ ('\ue0001\ue001' ~ recipient.email)|safe }}</p>\n",
        encoding="utf-8",
    )
    cached, alone = _renderers(campaign, dirs=(tmp_path,))
    _same(campaign, cached, alone, [_person(n, f"Úr {n}!", None, "Bikal") for n in range(3)])
    assert set(cached._shapes._shapes.values()) == {False}
