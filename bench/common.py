"""What the benchmarks share: generated recipients, peak memory, and the mailmerge baseline.

mailmerge is installed only into ``bench/.venv-mailmerge`` (created on first
use, gitignored), never into the project's environment.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FROM = "meghivo@lgp.example.org"
_ROLES = ("Tisztelt Polgármester Úr!", "Tisztelt Polgármester Asszony!", "Tisztelt Jegyző Asszony!")
_COUNTIES = ("Baranya", "Somogy", "Tolna", "Zala", "Vas", "Pest")


def peak_rss_mb() -> float:
    """This process's peak resident memory."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    except ImportError:  # Windows
        import psutil

        return psutil.Process().memory_info().peak_wset / 2**20


def recipients(n: int):
    """N invented recipients, generated (not held) so memory stays the program's own."""
    from lgp_mailer.sheets.recipients import Recipient

    for i in range(n):
        yield Recipient(
            email=f"hivatal{i}@telepules{i % 3200}.example",
            municipalities=(f"Őrszentmiklós-{i}",),
            salutation=_ROLES[i % 3],
            county=_COUNTIES[i % len(_COUNTIES)],
            name=f"Kovács Ödön {i}",
            rows=(i + 2,),
        )


def shipped_factory():
    """The shipped campaign's invitation factory (the letter every benchmark measures)."""
    from lgp_mailer.config import load_campaign
    from lgp_mailer.event import load_event
    from lgp_mailer.mail.build import MessageFactory

    campaign = load_campaign(REPO / "lgp-mailer.toml")
    return MessageFactory(campaign, load_event(campaign.event_path))


def mailmerge_command(n: int, workdir: Path, *, port: int | None = None) -> list[str]:
    """The mailmerge command for an equivalent text+HTML letter to the same N recipients (files made in ``workdir``).

    With ``port``, it sends to that local sink; without, it runs ``--dry-run``.
    """
    bindir = HERE / ".venv-mailmerge" / ("Scripts" if os.name == "nt" else "bin")
    exe = bindir / "mailmerge"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HERE / ".venv-mailmerge")], check=True)
        subprocess.run([str(bindir / "pip"), "install", "-q", "mailmerge"], check=True)
    sample = shipped_factory().build(next(recipients(1)))
    text = sample.rendered.text.replace("Kovács Ödön 0", "{{name}}")
    html = sample.rendered.html.replace("Kovács Ödön 0", "{{name}}")
    template = workdir / "template.txt"
    template.write_text(
        "TO: {{email}}\nSUBJECT: " + sample.rendered.subject + f"\nFROM: LGP <{FROM}>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="boundary"\n\n'
        "--boundary\nContent-Type: text/plain; charset=utf-8\n\n"
        + text
        + "\n--boundary\nContent-Type: text/html; charset=utf-8\n\n"
        + html
        + "\n--boundary--\n",
        encoding="utf-8",
    )
    database = workdir / "database.csv"
    with database.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "name"])
        for r in recipients(n):
            writer.writerow([r.email, r.name])
    config = workdir / "server.conf"
    config.write_text(f"[smtp_server]\nhost = 127.0.0.1\nport = {port or 25}\nsecurity = Never\n", encoding="utf-8")
    mode = "--no-dry-run" if port else "--dry-run"
    return [
        str(exe),
        mode,
        "--no-limit",
        "--output-format",
        "raw",
        "--template",
        str(template),
        "--database",
        str(database),
        "--config",
        str(config),
    ]


def mailmerge(n: int, workdir: Path, *, port: int | None = None) -> dict:
    """mailmerge on an equivalent text+HTML letter for the same N recipients (see ``mailmerge_command``)."""
    command = mailmerge_command(n, workdir, port=port)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=workdir)
    seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "per_second": n / seconds}
