"""``preview --lint``: deliverability checks on a finished message.

Our own checks catch what makes a letter land in spam or read badly: text
and HTML that disagree, image-only HTML, links whose text names another host
than where they go, ``http:`` links, Gmail's ~102 KB clipping, long lines and
missing headers.  When the ``spamassassin`` command is installed, its
local-only score (``spamassassin -L -t``: no network tests) and the rules
that fired are added.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from urllib.parse import urlsplit

from lgp_mailer.i18n import _

GMAIL_CLIP_BYTES = 102 * 1024
MAX_LINE = 998  # RFC 5322; our own encoder keeps bodies to 76
REQUIRED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "List-Id", "List-Unsubscribe")
_URL = re.compile(r"https?://[^\s<>\"')]+")
_HOSTLIKE = re.compile(r"^(?:https?://)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?:[/:?#]\S*)?$", re.I)


@dataclass(frozen=True)
class LintFinding:
    severity: str  # "problem" | "warning" | "info"
    check: str
    message: str


@dataclass
class LintReport:
    kind: str
    findings: list[LintFinding] = field(default_factory=list)
    spam_score: float | None = None
    spam_rules: list[tuple[float, str]] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return sum(1 for f in self.findings if f.severity == "problem")

    def add(self, severity: str, check: str, message: str) -> None:
        self.findings.append(LintFinding(severity, check, message))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, visible text)
        self.text: list[str] = []
        self.images = 0
        self._href: str | None = None
        self._anchor: list[str] = []
        self._hidden = 0  # inside <title>, <style> or <script>: not shown in the letter

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "style", "script"):
            self._hidden += 1
        elif tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._anchor = []
        elif tag == "img":
            self.images += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "style", "script"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._anchor).split())))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.text.append(data)
        if self._href is not None:
            self._anchor.append(data)


def _key_facts(text: str) -> set[str]:
    """Dates like "2020. június 18." and times like "10.00" a letter promises."""
    dates = re.findall(r"\d{4}\. [a-záéíóöőúüű]+ \d{1,2}\.", text)
    times = re.findall(r"\b\d{1,2}\.\d{2}\b", text)
    return set(dates) | set(times)


def lint_message(raw: bytes, kind: str, *, spamassassin: bool = True) -> LintReport:
    report = LintReport(kind)
    msg: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    for name in REQUIRED_HEADERS:
        if msg[name] is None:
            report.add("problem", "headers", _("missing {name} header").format(name=name))
    text_part, html_part = msg.get_body(("plain",)), msg.get_body(("html",))
    if text_part is None or html_part is None:
        report.add("problem", "structure", _("the message needs both a text and an HTML part"))
        return report
    text, html = text_part.get_content(), html_part.get_content()
    parser = _Links()
    parser.feed(html)
    visible = " ".join(" ".join(parser.text).split())
    _links(report, text, parser)
    if len(visible) < 200 and parser.images:
        report.add(
            "problem", "image-only", _("the HTML is mostly images: filters and readers without images see nothing")
        )
    missing = _key_facts(text) ^ _key_facts(visible)
    if missing:
        report.add(
            "problem",
            "facts",
            _("text and HTML disagree on dates/times: {missing}").format(missing=", ".join(sorted(missing))),
        )
    html_size = len(html_part.get_payload(decode=True) or b"")
    if html_size > GMAIL_CLIP_BYTES:
        report.add(
            "problem",
            "size",
            _("HTML is {html_size:.0f} KB: Gmail clips messages over ~102 KB").format(html_size=html_size / 1024),
        )
    else:
        report.add("info", "size", _("HTML {html_size:.1f} KB of Gmail's ~102 KB").format(html_size=html_size / 1024))
    longest = max((len(line) for line in raw.split(b"\r\n")), default=0)
    if longest > MAX_LINE:
        report.add(
            "problem",
            "lines",
            _("a line of {longest} characters (the limit is {max_line})").format(longest=longest, max_line=MAX_LINE),
        )
    elif longest > 78:
        report.add("warning", "lines", _("a line of {longest} characters (78 is recommended)").format(longest=longest))
    if spamassassin:
        _spamassassin(report, raw)
    return report


def _links(report: LintReport, text: str, parser: _Links) -> None:
    text_urls = {u.rstrip(".,;") for u in _URL.findall(text)}
    html_urls = {href for href, _ in parser.links if href.startswith(("http://", "https://"))}
    for url in sorted(text_urls ^ html_urls):
        if url in text_urls:
            report.add("problem", "links", _("only the text part links to {url}").format(url=url))
        else:
            report.add("problem", "links", _("only the HTML part links to {url}").format(url=url))
    for href, label in parser.links:
        shown = _HOSTLIKE.match(label.strip())
        target = urlsplit(href).hostname or href.partition(":")[2].partition("@")[2]
        if shown and target and shown.group(1).lower() != target.lower():
            report.add(
                "problem",
                "links",
                _("link text names {shown} but goes to {target}").format(shown=shown.group(1), target=target),
            )
    for url in sorted(u for u in text_urls | html_urls if u.startswith("http://")):
        report.add("warning", "links", _("not https: {url}").format(url=url))


def _spamassassin(report: LintReport, raw: bytes) -> None:
    exe = shutil.which("spamassassin")
    if exe is None:
        report.add("info", "spamassassin", _("spamassassin is not installed; score not checked"))
        return
    try:
        out = subprocess.run([exe, "-L", "-t"], input=raw, capture_output=True, timeout=120, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        report.add("warning", "spamassassin", _("could not run spamassassin: {exc}").format(exc=exc))
        return
    report.spam_score, report.spam_rules = parse_spamassassin(out.decode("utf-8", "replace"))
    rules = ", ".join(f"{name} {score:+.1f}" for score, name in report.spam_rules) or _("none")
    severity = "problem" if report.spam_score is not None and report.spam_score > 0 else "info"
    report.add(
        severity, "spamassassin", _("score {score} (rules: {rules})").format(score=report.spam_score, rules=rules)
    )


def parse_spamassassin(output: str) -> tuple[float | None, list[tuple[float, str]]]:
    """Score and rules from ``spamassassin -t``'s "Content analysis details" block."""
    match = re.search(r"Content analysis details:\s+\((-?[\d.]+) points", output)
    if not match:
        return None, []
    block = output[match.end() :]
    rules = [(float(score), name) for score, name in re.findall(r"(?m)^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s", block)]
    return float(match.group(1)), rules
