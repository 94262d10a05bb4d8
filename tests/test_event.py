"""The conference file: the seed loads exactly, and every kind of mistake names file and key."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgp_mailer.cli import app
from lgp_mailer.errors import EventError
from lgp_mailer.event import QA_TITLE, load_event

runner = CliRunner()
SEED = Path(__file__).resolve().parent.parent / "events" / "2020-06-18-innovaciok.toml"

MINIMAL = """\
[programme]
name = "Program"
year = 2027

[conference]
title = "Cím"
date = 2027-03-11
start = "10.00"
end = "12.00"

[platform]
name = "Zoom"

[registration]
url = "https://forms.example.org/x"
text = "Regisztráció:"

[contact]
office = "Iroda"
email = "iroda@example.org"

[[agenda]]
start = "10.00"
end = "11.00"
title = "Első"

[[agenda]]
start = "11.00"
end = "12.00"
qa = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "event.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_event_loads_with_its_agenda():
    event = load_event(SEED)
    assert event.date == dt.date(2020, 6, 18)
    assert (event.start, event.end) == (dt.time(10, 0), dt.time(12, 35))
    assert event.help_start == dt.time(9, 30)
    assert event.moderator_name == "Dr. Zongor Gábor"
    assert len(event.agenda) == 9
    dukai = event.agenda[1]
    assert (dukai.start, dukai.end, dukai.speaker, dukai.role) == (
        dt.time(10, 25),
        dt.time(10, 55),
        "Dr. Dukai Miklós",
        "helyettes államtitkár",
    )
    assert dukai.presenter
    assert event.agenda[2].qa and event.agenda[2].title == QA_TITLE
    assert event.agenda[-1].title == "Kérdések, válaszok, felvetések, zárszó"
    assert len(event.committee_members) == 10
    assert event.supporters == (
        "Belügyminisztérium",
        "Emberi Erőforrások Minisztériuma",
        "Innovációs és Technológiai Minisztérium",
    )


def test_minimal_event_and_time_forms(tmp_path):
    event = load_event(
        write(tmp_path, MINIMAL.replace('start = "10.00"\nend = "11.00"', 'start = 10:00:00\nend = "11:00"'))
    )
    assert [(s.start, s.end) for s in event.agenda] == [(dt.time(10), dt.time(11)), (dt.time(11), dt.time(12))]
    assert event.moderator_name is None and event.help_start is None and event.supporters == ()


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (lambda t: t.replace('title = "Cím"\n', ""), "conference.title", "missing key"),
        (
            lambda t: t.replace('[contact]\noffice = "Iroda"\nemail = "iroda@example.org"\n', ""),
            "contact",
            "missing table",
        ),
        (lambda t: t.replace("date = 2027-03-11", 'date = "2027. március 11."'), "conference.date", "bad date"),
        (lambda t: t.replace("date = 2027-03-11", "date = 2027-02-30"), None, "not valid TOML"),
        (
            lambda t: t.replace('end = "12.00"\n\n[platform]', 'end = "25.00"\n\n[platform]'),
            "conference.end",
            "bad time",
        ),
        (
            lambda t: t.replace('end = "12.00"\n\n[platform]', 'end = "09.00"\n\n[platform]'),
            "conference.end",
            "before it starts",
        ),
        (
            lambda t: t.replace('start = "11.00"\nend = "12.00"', 'start = "10.30"\nend = "12.00"'),
            "agenda[2].start",
            "overlap",
        ),
        (
            lambda t: t.replace('start = "10.00"\nend = "11.00"', 'start = "11.00"\nend = "10.00"'),
            "agenda[1].end",
            "before it starts",
        ),
        (lambda t: t.replace('title = "Cím"', 'title = "Cím"\ntitel = "x"'), "conference.titel", "unknown key"),
        (lambda t: t.replace("[platform]", "[platfrom]"), "platfrom", "unknown table"),
        (lambda t: t.replace('title = "Első"', ""), "agenda[1].title", "missing key"),
        (
            lambda t: t.replace('url = "https://forms.example.org/x"', 'url = "forms.example.org"'),
            "registration.url",
            "not a web address",
        ),
        (lambda t: t.replace("year = 2027", 'year = "2027"'), "programme.year", "whole number"),
    ],
)
def test_event_errors_name_file_and_key(tmp_path, change, key, message):
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(EventError) as caught:
        load_event(path)
    error = caught.value
    assert error.file == str(path)
    assert error.key == key
    assert message in error.message
    # The one case without a key is the TOML error on line 7 (date = 2027-02-30): it names the line.
    assert str(error).startswith(f"{path}, key {key!r}: " if key else f"{path}, line 7: ")


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(EventError, match="event file not found"):
        load_event(tmp_path / "nope.toml")
    with pytest.raises(EventError, match="not a file"):
        load_event(tmp_path)
    bad = tmp_path / "cp1250.toml"
    bad.write_bytes(MINIMAL.replace("Cím", "Cím ő").encode("cp1250"))
    with pytest.raises(EventError, match="not UTF-8"):
        load_event(bad)


@pytest.mark.parametrize("name", ["https://bbb.example.org/b/lgp", "www.webex.example/meet", "HTTP://X.EXAMPLE"])
def test_a_web_address_as_the_platform_name_is_refused(tmp_path, name):
    path = tmp_path / "event.toml"
    path.write_text(MINIMAL.replace('name = "Zoom"', f'name = "{name}"'), encoding="utf-8")
    with pytest.raises(EventError) as caught:
        load_event(path)
    assert (caught.value.file, caught.value.key) == (str(path), "platform.name")
    assert caught.value.message == (
        f"is a web address ('{name}'): name the platform here (Zoom, Microsoft Teams, Webex …) and put the "
        "address in platform.url"
    )


def test_a_straight_quote_inside_a_text_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "event.toml"
    path.write_text(MINIMAL.replace('title = "Cím"', 'title = "Az "Egészséges Falu" program"'), encoding="utf-8")
    with pytest.raises(EventError) as caught:
        load_event(path)
    assert str(caught.value) == (
        f"{path}, line 6: not valid TOML: Expected newline or end of document after a statement; "
        'a " inside a text ends it: write the inner quotation marks as „…”'
    )
    path.write_text(MINIMAL.replace("year = 2027", "year = 2027\nyear = 2028"), encoding="utf-8")
    with pytest.raises(EventError) as caught:
        load_event(path)
    assert str(caught.value) == f"{path}, line 4: not valid TOML: Cannot overwrite a value"


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (
            lambda t: t.replace("date = 2027-03-11", "date = 2027-03-11T10:00:00"),
            "conference.date",
            "bad date 2027-03-11T10:00:00: write it as 2020-06-18 (no quotes)",
        ),
        (
            lambda t: t.replace('start = "10.00"\nend = "12.00"', 'start = 2027-03-11\nend = "12.00"', 1),
            "conference.start",
            'bad time 2027-03-11: write it as "10.00" or "9.30"',
        ),
        (
            lambda t: t.replace('title = "Cím"', "title = 2027-03-11"),
            "conference.title",
            "must be a non-empty text, not 2027-03-11",
        ),
        (
            lambda t: t.replace('email = "iroda@example.org"', 'email = "iroda at example.org"'),
            "contact.email",
            "'iroda at example.org' is not an e-mail address: An email address must have an @-sign.",
        ),
    ],
)
def test_a_wrong_value_is_shown_as_written_and_the_office_address_is_checked(tmp_path, change, key, message):
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(EventError) as caught:
        load_event(path)
    assert (caught.value.key, caught.value.message) == (key, message)


def test_an_evening_past_midnight_is_told_it_cannot_be_written(tmp_path):
    path = write(tmp_path, MINIMAL.replace('start = "10.00"\nend = "12.00"', 'start = "22.00"\nend = "00.30"', 1))
    with pytest.raises(EventError) as caught:
        load_event(path)
    assert (caught.value.key, caught.value.message) == (
        "conference.end",
        "ends (00:30) before it starts (22:00); a conference ends on the day it starts: one past midnight "
        "cannot be written",
    )


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('title = "Cím"', 'title = "Cím {{ 7*7 }}"', "conference.title"),
        ('title = "Első"', 'title = "{% raw %}Első"', "agenda[1].title"),
        ('office = "Iroda"', 'office = "Iroda }}"', "contact.office"),
        ('url = "https://forms.example.org/x"', 'url = "https://forms.example.org/{%x%}"', "registration.url"),
    ],
)
def test_template_braces_in_an_event_value_name_the_key_not_the_templates(tmp_path, old, new, key):
    path = write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(EventError) as caught:
        load_event(path)
    value = new.split(" = ", 1)[1].strip('"')
    assert str(caught.value) == (
        f"{path}, key {key!r}: template braces in a value: {value!r}; write it without {{{{ }}}} or {{% %}}"
    )


@pytest.mark.parametrize(
    ("old", "new", "key", "word"),
    [
        ('title = "Cím"', 'title = "None"', "conference.title", "None"),
        ('title = "Első"', 'title = "Első: nan"', "agenda[1].title", "nan"),
        ('office = "Iroda"', 'office = "Iroda NaN"', "contact.office", "NaN"),
        ('name = "Zoom"', 'name = "undefined"', "platform.name", "undefined"),
    ],
)
def test_a_missing_value_word_in_an_event_value_names_the_key_not_the_templates(tmp_path, old, new, key, word):
    # "None" pasted from a spreadsheet export reached the render's guard, which blamed the templates.
    path = write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(EventError) as caught:
        load_event(path)
    value = new.split(" = ", 1)[1].strip('"')
    assert str(caught.value) == (
        f"{path}, key {key!r}: {word!r} in a value reads as a missing value in the letter: {value!r}; "
        "write the real value (or delete the line, if the key may be left out)"
    )


def test_words_that_merely_contain_nan_or_none_are_text(tmp_path):
    text = MINIMAL.replace('title = "Cím"', 'title = "Finanszírozás: Nonedik nanotechnológia, Nones"')
    assert load_event(write(tmp_path, text)).title == "Finanszírozás: Nonedik nanotechnológia, Nones"


def test_a_none_passcode_stops_the_reminder_naming_the_event_key(tmp_path):
    camp = tmp_path / "c"
    assert runner.invoke(app, ["init", str(camp), "--example"]).exit_code == 0
    event = camp / tomllib.loads((camp / "lgp-mailer.toml").read_text(encoding="utf-8"))["event"]
    text = event.read_text(encoding="utf-8")
    assert 'passcode = "' in text
    event.write_text(re.sub(r'passcode = "[^"]*"', 'passcode = "None"', text, count=1), encoding="utf-8")
    result = runner.invoke(app, ["preview", "--kind", "reminder", "--campaign", str(camp), "--limit", "1"])
    assert result.exit_code == 2, result.output
    assert f"{event}, key 'online.passcode': 'None' in a value reads as a missing value" in result.output
    assert "templates" not in result.output


def test_markup_and_line_breaks_in_an_event_value_stay_text(tmp_path):
    hostile = 'title = "Cím <script>x</script>\\r\\nBcc: v@evil.example\\u2028vége {# nem megjegyzés #}"'
    event = load_event(write(tmp_path, MINIMAL.replace('title = "Cím"', hostile)))
    assert event.title == "Cím <script>x</script> Bcc: v@evil.example vége {# nem megjegyzés #}"


def test_an_event_file_over_one_mib_is_refused_before_parsing(tmp_path):
    # A 50 MB title took minutes and gigabytes in check; a sparse 500 MB file a gigabyte.
    big = write(tmp_path, MINIMAL.replace('title = "Cím"', 'title = "' + "Ő" * 25_000_000 + '"'))
    sparse = tmp_path / "sparse.toml"
    with sparse.open("wb") as stream:
        stream.truncate(500 * 1024 * 1024)
    for path in (big, sparse):
        with pytest.raises(EventError) as caught:
            load_event(path)
        assert str(caught.value) == f"{path}: over 1 MiB: not a conference file (one is a few KiB)"
    exactly = write(tmp_path, MINIMAL + "#" * (1024 * 1024 - len(MINIMAL.encode("utf-8"))))
    assert exactly.stat().st_size == 1024 * 1024
    assert load_event(exactly).title == "Cím"
