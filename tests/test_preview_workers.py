"""`preview` built by worker processes (issue 16): the same folder as one built here, byte for byte.

The threshold and the chunk size are lowered so that a handful of letters
takes the worker path.  The letters of the second chunk are always a
worker's: this process, building the first chunk, waits until the worker
has written one of them (else it would take the chunk back while the worker
starts).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import ClassVar

import pytest
import time_machine
from hungarian import hungarian
from typer.testing import CliRunner

from lgp_mailer.campaign import spool
from lgp_mailer.campaign.preview import PreviewReport, run_preview
from lgp_mailer.campaign.scaffold import init_example
from lgp_mailer.cli import app
from lgp_mailer.config import Campaign, load_campaign
from lgp_mailer.errors import ConfigError
from lgp_mailer.mail.build import Built, MessageFactory
from lgp_mailer.sheets.recipients import Recipient

from sheets_factory import HEADER, write_xlsx

NOW = dt.datetime(2026, 5, 4, 8, 30, tzinfo=dt.UTC)
CHUNK = 4
PLACES = ("Alsómocsolád", "Bikal", "Cserkút", "Dinnyés", "Egerág", "Fonyód", "Gyód", "Hosszúhetény")
# Random in every message: the MIME boundaries (the email package draws them).
BOUNDARY = re.compile(rb"={15}\d+==")


def make_campaign(root: Path, count: int) -> Path:
    config = init_example(root)
    rows = [
        [
            "Baranya",
            PLACES[i % len(PLACES)],
            f"Kovács Ödön {i}",
            "főkertész" if i == 6 else "polgármester",
            "",
            f"hivatal{i}@telepules{i}.example",
        ]
        for i in range(count)
    ]  # row 8 (letter 7) has a warning: an unknown role
    write_xlsx(root / "recipients" / "lista.xlsx", {"Lista": [HEADER, *rows]})
    text = config.read_text(encoding="utf-8")
    config.write_text(
        re.sub(r'(?m)^recipients = ".*"$', 'recipients = "recipients/lista.xlsx"', text), encoding="utf-8"
    )
    return config


def preview(campaign: Campaign, out: Path, *, workers: bool, monkeypatch: pytest.MonkeyPatch) -> PreviewReport:
    monkeypatch.setattr(spool, "CHUNK", CHUNK)
    monkeypatch.setattr(spool, "PROCESSES_FROM", 10 if workers else 10**9)
    with time_machine.travel(NOW, tick=False):  # one calendar DTSTAMP for both previews
        return run_preview(campaign, out_dir=out, now=NOW)


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): BOUNDARY.sub(b"", p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def worker_builds_the_second_chunk(monkeypatch: pytest.MonkeyPatch, out: Path) -> list[str]:
    """Records the letters built in this process; the first waits until a worker wrote letter 5."""
    here: list[str] = []
    original = MessageFactory.build

    def build(self: MessageFactory, recipient: Recipient, **kwargs: object) -> Built:
        if not here:
            deadline = time.monotonic() + 60
            while not list(out.glob("0005-*.eml")) and time.monotonic() < deadline:
                time.sleep(0.02)
        here.append(recipient.email)
        return original(self, recipient, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MessageFactory, "build", build)
    return here


def test_workers_write_the_same_preview_as_this_process(tmp_path, monkeypatch):
    campaign = load_campaign(make_campaign(tmp_path / "kampany", 14))
    with hungarian(tmp_path / "locale"):  # the workers speak the interface language too
        here_report = preview(campaign, tmp_path / "here", workers=False, monkeypatch=monkeypatch)
        built_here = worker_builds_the_second_chunk(monkeypatch, tmp_path / "workers")
        report = preview(campaign, tmp_path / "workers", workers=True, monkeypatch=monkeypatch)
    emails = [f"hivatal{i}@telepules{i}.example" for i in range(14)]
    assert not set(emails[4:8]) & set(built_here)  # the second chunk: a worker's
    assert set(emails[:4]) <= set(built_here) and len(built_here) == len(set(built_here))
    expected, written = files(tmp_path / "here"), files(tmp_path / "workers")
    assert sorted(written) == sorted(expected)
    assert len([name for name in written if name.endswith(".eml")]) == 14
    assert [name for name in written if written[name] != expected[name]] == []
    assert (
        "5. levél (összesen 14)" in written["0005-hivatal4_telepules4.example.html"].decode()
    )  # the worker's Hungarian
    assert b'href="0006-hivatal5_telepules5.example.html"' in written["0005-hivatal4_telepules4.example.html"]
    for summary in (here_report, report):
        assert (summary.total, summary.rendered, summary.problems) == (14, 14, [])
    assert report.first is not None and report.first.recipient.email == emails[0]
    assert here_report.first is not None and report.first.rendered == here_report.first.rendered


class Refusing(MessageFactory):
    """A customised factory (always built in this process) whose letters to some rows do not build."""

    refused: ClassVar[set[int]] = {
        3,
        4,
        8,
        9,
        10,
        11,
        13,
    }  # letters 4-5 across a chunk edge, 9-12 a whole chunk, 14 the last

    def build(self, recipient: Recipient, **kwargs: object) -> Built:  # type: ignore[override]
        if int(recipient.email.split("@")[0].removeprefix("hivatal")) in self.refused:
            raise ConfigError("nem készül el", key=recipient.email)
        return super().build(recipient, **kwargs)  # type: ignore[arg-type]


def test_pages_link_past_the_letters_that_did_not_build_whatever_the_chunks(tmp_path, monkeypatch):
    """Chunks of 4 (each page linked by its builder, edges relinked) and one chunk of all: the same pages."""
    campaign = load_campaign(make_campaign(tmp_path / "kampany", 14))
    monkeypatch.setattr("lgp_mailer.campaign.preview.MessageFactory", Refusing)
    small = preview(campaign, tmp_path / "small", workers=True, monkeypatch=monkeypatch)
    monkeypatch.setattr(spool, "CHUNK", 1000)
    with time_machine.travel(NOW, tick=False):
        whole = run_preview(campaign, out_dir=tmp_path / "whole", now=NOW)
    assert files(tmp_path / "small") == files(tmp_path / "whole")
    assert small.failed == whole.failed == 7 and small.rendered == 7
    assert small.first is not None and small.first.recipient.email == "hivatal0@telepules0.example"
    pages = sorted((tmp_path / "small").glob("[0-9]*.html"))
    links = []
    for page in pages:
        html = page.read_text(encoding="utf-8")
        found = [re.search(rf'id="{side}" rel="\w+" href="(\d+)', html) for side in ("previous", "next")]
        links.append(tuple(int(m.group(1)) if m else None for m in found))
    assert [int(p.name[:4]) for p in pages] == [1, 2, 3, 6, 7, 8, 13]
    assert links == [(None, 2), (1, 3), (2, 6), (3, 7), (6, 8), (7, 13), (8, None)]


def test_a_letter_that_does_not_render_in_a_worker_names_its_recipient_and_exits_2(tmp_path, monkeypatch):
    config = make_campaign(tmp_path / "kampany", 12)
    subject = config.parent / "templates" / "invitation.subject.j2"
    subject.write_text(
        '{% if recipient.email == "hivatal5@telepules5.example" %}{{ recipient.nincs }}{% endif %}Meghívó',
        encoding="utf-8",
    )
    monkeypatch.setattr(spool, "CHUNK", CHUNK)
    monkeypatch.setattr(spool, "PROCESSES_FROM", 10)
    built_here = worker_builds_the_second_chunk(monkeypatch, tmp_path / "out")
    result = CliRunner().invoke(app, ["preview", "--campaign", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "hivatal5@telepules5.example" not in built_here  # letter 6: the worker's
    errors = [line for line in result.output.splitlines() if line.startswith("lgp-mailer: error:")]
    assert errors == [
        f"lgp-mailer: error: {subject}, line 1: cannot render: undefined name 'recipient.nincs' "
        "(the message to hivatal5@telepules5.example)"
    ]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out" / "index.html").exists()
