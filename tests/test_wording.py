"""a/az by pronunciation, nested quotation marks, and the reminder's platform wording."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from lgp_mailer.config import load_campaign
from lgp_mailer.errors import EventError
from lgp_mailer.event import load_event
from lgp_mailer.hungarian import (
    article,
    as_continuation,
    as_sentence,
    nest_quotes,
    quote,
    starts_with_article,
)
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.mail.render import Renderer
from lgp_mailer.sheets.recipients import Recipient

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Numbers, by the first spoken word.
        ("1", "az"),
        ("5", "az"),
        ("50", "az"),
        ("500", "az"),
        ("5000", "az"),
        ("1848", "az"),
        ("1000", "az"),
        ("1 000 000", "az"),
        ("1.", "az"),
        ("5kerulet@pelda.example", "az"),
        ("2027-es", "a"),
        ("2", "a"),
        ("10", "a"),
        ("11", "a"),
        ("100", "a"),
        ("150", "a"),
        ("15 000", "a"),
        ("0", "a"),
        ("05", "a"),
        # Acronyms: consonant + vowel is read as a word ...
        ("NATO", "a"),
        ("MÁV", "a"),
        ("NAV", "a"),
        ("MOL", "a"),
        ("ZOOM", "a"),
        # ... otherwise letter by letter; F L LY M N NY R S SZ X Y have vowel-initial names.
        ("MTA", "az"),
        ("SZTE", "az"),
        ("NKE", "az"),
        ("LMP", "az"),
        ("FKF", "az"),
        ("RTL", "az"),
        ("KSH", "a"),
        ("BM", "a"),
        ("TÖOSZ", "a"),
        ("ELTE", "az"),
        ("F", "az"),
        ("B", "a"),
        ("MTA-SZTAKI", "az"),
        # Words and addresses, by the first letter; quotation marks are skipped.
        ("Egyesület", "az"),
        ("Őrség", "az"),
        ("Microsoft", "a"),
        ("iroda@pelda.example", "az"),
        ("„Zöld Falu” program", "a"),
        ("„Okos” település", "az"),
        ("", "a"),
    ],
)
def test_article(text, expected):
    assert article(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A „Zöld Falu” program", "„A »Zöld Falu« program”"),
        ('Az "okos" település', "„Az »okos« település”"),
        ("A “smart” city", "„A »smart« city”"),
        ("„Egy” és „kettő”", "„»Egy« és »kettő«”"),
        ("Idézet nélkül", "„Idézet nélkül”"),
        ("Már »belső« jelekkel", "„Már »belső« jelekkel”"),
        # A third level inside the second: ’…’, not a second »…« inside »…«.
        (
            "Ünnepi ülés: „Az államalapítás és a »helyi« közösségek”",
            "„Ünnepi ülés: »Az államalapítás és a ’helyi’ közösségek«”",
        ),
        ("„A »Zöld« díj” és »más«", "„»A ’Zöld’ díj« és »más«”"),
    ],
)
def test_quotes_nest_as_hungarian_writes_them(text, expected):
    assert quote(text) == expected
    assert nest_quotes(text) == expected[1:-1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A jövő települése", True),
        ("Az „Okos Falu” díj", True),
        ("„Az okos falu”", True),
        ("az ember", True),
        ("Azonosítás és hitelesítés", False),
        ("A", False),
        ("ÁNTSZ-nap", False),
        ("Aszály", False),
        ("Egészségügy", False),
    ],
)
def test_a_title_may_start_with_its_own_article(text, expected):
    assert starts_with_article(text) is expected


def test_sentence_fragments():
    assert as_sentence("nem kell telepíteni semmit") == "Nem kell telepíteni semmit."
    assert as_sentence("Böngészőből is megy!") == "Böngészőből is megy!"
    assert as_continuation("Technikai segítség a belépéshez") == "technikai segítség a belépéshez."
    assert as_continuation("MTA-segítség.") == "MTA-segítség."


# --- The title's article in the event file -------------------------------------------------------

MINIMAL = (REPO / "tests" / "test_event.py").read_text(encoding="utf-8").split('MINIMAL = """\\\n')[1].split('"""')[0]


def _event(tmp_path, conference_extra: str):
    path = tmp_path / "event.toml"
    path.write_text(MINIMAL.replace('title = "Cím"', f'title = "SZTAKI-nap"\n{conference_extra}'), encoding="utf-8")
    return load_event(path), path


def test_the_event_file_overrides_the_article_of_the_title(tmp_path):
    event, _ = _event(tmp_path, "")
    assert event.article_before_title == "az"  # the rule reads SZTAKI letter by letter
    event, _ = _event(tmp_path, 'title_article = "a"')
    assert (event.title_article, event.article_before_title) == ("a", "a")


@pytest.mark.parametrize("value", ['"egy"', "1", '""'])
def test_a_bad_article_names_its_key(tmp_path, value):
    with pytest.raises(EventError) as caught:
        _event(tmp_path, f"title_article = {value}")
    assert caught.value.key == "conference.title_article"
    assert caught.value.message.startswith('must be "a" or "az"')


# --- The reminder follows the platform --------------------------------------------------------------

WHO = Recipient(
    email="pm@pelda.example",
    municipalities=("Példafalva",),
    salutation="Tisztelt Polgármester Asszony!",
    name="Kiss Anna",
    gender="female",
    salutation_kind="female",
)
SEED = load_event(REPO / "events" / "2020-06-18-innovaciok.toml")
HELP = "9.30 órától technikai segítségnyújtás azoknak, akik igénylik: belépés a konferencia virtuális termébe, videó és hang működésének kipróbálása."


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(REPO / "lgp-mailer.toml")


def render(campaign, **changes):
    event = dataclasses.replace(SEED, **changes)
    factory = MessageFactory(
        campaign, event, "reminder", renderer=Renderer(campaign.template_dirs, "reminder", inline_css=False)
    )
    return factory.renderer.render(factory.context(WHO))


def join_block(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[
        lines.index("Időpont: 2020. június 18. (csütörtök) 10.00–12.35") + 2 : lines.index(
            "A konferencia tervezett programja:"
        )
    ]


ZOOM_NOTE = "nem kell letölteni programot, böngészőn keresztül is működik"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},  # the seed: Zoom, with a note, an ID and a passcode
            [
                "Csatlakozás (ZOOM): https://zoom.example.org/j/81234567890?pwd=lgp2020",
                "Meeting-azonosító: 812 3456 7890",
                "Jelkód: lgp2020",
                "",
                (
                    "A konferenciára a fenti linkre kattintva léphet be. Nem kell letölteni programot, böngészőn keresztül is"
                    " működik. Ha ez nem sikerül, indítsa el a Zoomot, válassza a Csatlakozás gombot, és adja meg a"
                    " Meeting-azonosítót, majd a jelkódot."
                ),
                "",
                HELP,
                "",
            ],
        ),
        (
            {"platform_note": None, "passcode": None, "help_start": None, "help_text": None},
            [
                "Csatlakozás (ZOOM): https://zoom.example.org/j/81234567890?pwd=lgp2020",
                "Meeting-azonosító: 812 3456 7890",
                "",
                (
                    "A konferenciára a fenti linkre kattintva léphet be a ZOOM alkalmazásban vagy, ha az nincs telepítve,"
                    " böngészőben. Ha ez nem sikerül, indítsa el a Zoomot, válassza a Csatlakozás gombot, és adja meg a"
                    " Meeting-azonosítót."
                ),
                "",
            ],
        ),
        (
            {
                "platform_name": "Microsoft Teams",
                "platform_note": None,
                "join_url": "https://teams.example.org/l/x",
                "platform_url": "https://www.microsoft.com/hu-hu/microsoft-teams/join-a-meeting",
                "meeting_id": "345 678 901 234",
                "passcode": "Vz7kLm",
            },
            [
                "Csatlakozás (Microsoft Teams): https://teams.example.org/l/x",
                "Értekezlet-azonosító: 345 678 901 234",
                "Jelkód: Vz7kLm",
                "",
                (
                    "A konferenciára a fenti linkre kattintva léphet be a Microsoft Teams alkalmazásban vagy böngészőben,"
                    " Microsoft-fiók nélkül is. Ha ez nem sikerül, a"
                    " https://www.microsoft.com/hu-hu/microsoft-teams/join-a-meeting oldalon adja meg az"
                    " értekezlet-azonosítót, majd a jelkódot."
                ),
                "",
                HELP,
                "",
            ],
        ),
        (
            {"platform_name": "MS Teams", "platform_url": None, "platform_note": "nem kell telepíteni semmit"},
            [
                "Csatlakozás (MS Teams): https://zoom.example.org/j/81234567890?pwd=lgp2020",
                "Értekezlet-azonosító: 812 3456 7890",
                "Jelkód: lgp2020",
                "",
                (
                    "A konferenciára a fenti linkre kattintva léphet be. Nem kell telepíteni semmit. Ha ez nem sikerül, a"
                    " Teamsben a Csatlakozás azonosítóval lehetőséget választva adja meg az értekezlet-azonosítót, majd a"
                    " jelkódot."
                ),
                "",
                HELP,
                "",
            ],
        ),
        (
            {"platform_name": "Webex", "platform_url": "https://www.webex.com", "platform_note": None},
            [
                "Csatlakozás (Webex): https://zoom.example.org/j/81234567890?pwd=lgp2020",
                "Azonosító: 812 3456 7890",
                "Jelkód: lgp2020",
                "",
                (
                    "A konferenciára a fenti linkre kattintva léphet be. Ha ez nem sikerül, a https://www.webex.com oldalon"
                    " adja meg az azonosítót, majd a jelkódot."
                ),
                "",
                HELP,
                "",
            ],
        ),
        (
            {
                "platform_name": "Jitsi",
                "platform_url": None,
                "platform_note": None,
                "meeting_id": None,
                "passcode": None,
            },
            [
                "Csatlakozás (Jitsi): https://zoom.example.org/j/81234567890?pwd=lgp2020",
                "",
                "A konferenciára a fenti linkre kattintva léphet be.",
                "",
                HELP,
                "",
            ],
        ),
    ],
    ids=["zoom-seed", "zoom-bare", "teams", "teams-no-page", "other", "other-link-only"],
)
def test_reminder_join_block(campaign, changes, expected):
    rendered = render(campaign, **changes)
    assert join_block(rendered.text) == expected
    for part in (rendered.text, rendered.html):
        assert "Meeting ID" not in part and "Passcode" not in part
        assert "csatlakozáshoz böngészőből is csatlakozhat" not in part
        assert part.count("technikai segítség") <= 1  # the help line once, not twice
    assert "Technikai segítség:" not in rendered.text


def test_html_reminder_says_the_same(campaign):
    html = render(campaign).html
    assert (
        "<p>A konferenciára a fenti linkre kattintva léphet be. Nem kell letölteni programot, böngészőn keresztül is"
        " működik. Ha ez nem sikerül, indítsa el a Zoomot, válassza a Csatlakozás gombot, és adja meg a"
        " Meeting-azonosítót, majd a jelkódot.</p>"
    ) in html
    assert "<br>Meeting-azonosító: 812 3456 7890<br>Jelkód: lgp2020</p>" in html
    assert f"<p>{HELP}</p>" in html


def test_a_quoted_title_nests_and_takes_its_article(campaign):
    rendered = render(campaign, title="Az „Okos Falu” díj 2027", title_article=None)
    # The title's own article stands for the sentence's: not "az „Az …”".
    assert "Köszönjük, hogy regisztrált „Az »Okos Falu« díj 2027” című online konferenciánkra." in rendered.text
    assert "regisztrált „<strong>Az »Okos Falu« díj 2027</strong>” című" in rendered.html
    rendered = render(campaign, title="Ülés: „Az »okos« falu”", title_article=None)
    assert "regisztrált az „Ülés: »Az ’okos’ falu«” című" in rendered.text
    rendered = render(campaign, title="SZTAKI-nap", title_article="a")
    assert "Köszönjük, hogy regisztrált a „SZTAKI-nap” című online konferenciánkra." in rendered.text
    assert dt.date(2020, 6, 18) == SEED.date  # the seed itself is untouched


@pytest.mark.parametrize(
    ("kind", "text_line", "html_line"),
    [
        ("nudge", "meghívót küldtünk „A jövő települése” című", "küldtünk „<strong>A jövő települése</strong>” című"),
        ("thanks", "részt vett „A jövő települése” című", "részt vett „<strong>A jövő települése</strong>” című"),
        ("recording", "regisztrált „A jövő települése” című", "regisztrált „<strong>A jövő települése</strong>” című"),
        ("change", "\n„A jövő települése” című online", "<p>„<strong>A jövő települése</strong>” című online"),
    ],
)
def test_a_title_with_its_own_article_takes_no_second_one(campaign, kind, text_line, html_line):
    event = dataclasses.replace(SEED, title="A jövő települése", recording_url="https://video.example.org/felvetel")
    factory = MessageFactory(campaign, event, kind, renderer=Renderer(campaign.template_dirs, kind, inline_css=False))
    rendered = factory.renderer.render(factory.context(WHO))
    assert text_line in rendered.text
    assert html_line in rendered.html
    for part in (rendered.text, rendered.html):
        assert "a „A" not in part and "A „A" not in part and "a „<strong>A" not in part


def test_the_invitation_continues_the_help_sentence_as_the_reminder_does(campaign):
    # Written as a sentence of its own in the event file; after "9.30 órától" it continues one.
    event = dataclasses.replace(SEED, help_text="Technikai segítség a belépéshez")
    renderer = Renderer(campaign.template_dirs, "invitation", inline_css=False)
    factory = MessageFactory(campaign, event, "invitation", renderer=renderer)
    rendered = factory.renderer.render(factory.context(WHO))
    assert "\n9.30 órától technikai segítség a belépéshez.\n" in rendered.text
    assert "<p>9.30 órától technikai segítség a belépéshez.</p>" in rendered.html


def test_a_nudge_does_not_say_when_the_invitation_went(campaign):
    # "Néhány napja" (a few days ago) was false for a nudge sent the same day, or three weeks on:
    # the letter knows neither, so it says "recently".
    factory = MessageFactory(
        campaign, SEED, "nudge", renderer=Renderer(campaign.template_dirs, "nudge", inline_css=False)
    )
    rendered = factory.renderer.render(factory.context(WHO))
    assert "\nNemrég meghívót küldtünk az „Önkormányzati innovációk és jó gyakorlatok” című" in rendered.text
    assert "<p>Nemrég meghívót küldtünk az „<strong>Önkormányzati innovációk és jó gyakorlatok</strong>” című" in (
        rendered.html
    )
    assert "napja" not in rendered.text + rendered.html


def test_a_nudge_never_promises_registration_after_the_start(campaign):
    # registration.closes after the start: a registration then gets no join link.
    late = dataclasses.replace(SEED, registration_closes=dt.datetime(2020, 6, 19, 18, 0))
    early = dataclasses.replace(SEED, registration_closes=dt.datetime(2020, 6, 16, 12, 0))
    lines = []
    for event in (late, early):
        factory = MessageFactory(campaign, event, "nudge", renderer=Renderer(campaign.template_dirs, "nudge"))
        rendered = factory.renderer.render(factory.context(WHO))
        lines += [line for line in rendered.text.splitlines() if line.endswith(" óráig lehet.")]
        assert lines[-1] in rendered.html
    assert lines == [
        "Regisztrálni 2020. június 18. (csütörtök) 10.00 óráig lehet.",
        "Regisztrálni 2020. június 16. (kedd) 12.00 óráig lehet.",
    ]


@pytest.mark.parametrize(
    ("slides", "line"),
    [
        (None, "Alább megtalálja a konferencia felvételét, amelyet kollégáival is megoszthat:"),
        (
            "https://lgp.example.org/diak.zip",
            "Alább megtalálja a konferencia felvételét és az előadások diáit, amelyeket kollégáival is megoszthat:",
        ),
    ],
)
def test_the_thanks_refers_to_one_recording_in_the_singular(campaign, slides, line):
    event = dataclasses.replace(SEED, recording_url="https://video.example.org/felvetel", slides_url=slides)
    factory = MessageFactory(campaign, event, "thanks", renderer=Renderer(campaign.template_dirs, "thanks"))
    rendered = factory.renderer.render(factory.context(WHO))
    assert line in rendered.text.splitlines()
    assert line in rendered.html


@pytest.mark.parametrize(
    ("platform", "label"),
    [("Zoom", "Meeting-azonosító"), ("Microsoft Teams", "Értekezlet-azonosító"), ("Webex", "Azonosító")],
)
def test_the_reminders_calendar_entry_labels_the_meeting_id_as_the_letter_does(platform, label):
    # The entry's description was the one English line a mayor saw: "Meeting ID: …".
    from icalendar import Calendar

    from lgp_mailer import kinds
    from lgp_mailer.mail.ical import calendar_entry

    event = dataclasses.replace(SEED, platform_name=platform)
    ics = calendar_entry(
        event,
        uid="u@lgp.example.org",
        organizer_name="Iroda",
        organizer_email="iroda@lgp.example.org",
        kind=kinds.REMINDER,
        stamp=dt.datetime(2020, 6, 17, 8, 0, tzinfo=dt.UTC),
    )
    (entry,) = Calendar.from_ical(ics).walk("VEVENT")
    assert str(entry["DESCRIPTION"]).splitlines()[1:] == [
        f"Csatlakozás: {SEED.join_url}",
        f"{label}: {SEED.meeting_id}",
        f"Jelkód: {SEED.passcode}",
    ]
