"""A built wheel carries the example campaign, so `preview` works from any folder after `pip install .`."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_the_example_campaign_and_previews_from_anywhere(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("lgp_mailer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "lgp_mailer/_shipped/lgp-mailer.toml",
        "lgp_mailer/_shipped/templates/invitation.html.j2",
        "lgp_mailer/_shipped/events/2020-06-18-innovaciok.toml",
        "lgp_mailer/_shipped/recipients/pelda-onkormanyzatok.xlsx",
        "lgp_mailer/_shipped/registrations/pelda-regisztraciok.csv",
        "lgp_mailer/_shipped/templates/_join_words.j2",
        # The example's placeholder logos and the preview gallery's page parts.
        "lgp_mailer/_shipped/logos/pelda-tamogato-1.png",
        "lgp_mailer/campaign/gallery_assets/gallery.js",
        "lgp_mailer/campaign/gallery_assets/index.html.j2",
        # The register of given names: salutations need it after `pip install .`.
        "lgp_mailer/data/utonevek/osszesffi.txt",
        "lgp_mailer/data/utonevek/osszesnoi.txt",
        "lgp_mailer/data/utonevek/SOURCE.md",
        "lgp_mailer/data/settlements.csv",  # the KSH gazetteer (issue 14) and its source
        "lgp_mailer/data/SOURCE.md",
        # The interface catalogs, compiled by hatch_build.py (the .mo files are not in git).
        "lgp_mailer/locale/hu/LC_MESSAGES/lgp_mailer.mo",
        "lgp_mailer/locale/en/LC_MESSAGES/lgp_mailer.mo",
    ):
        assert needed in names
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)], check=True
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = (
        "import lgp_mailer, sys; from pathlib import Path; "
        f"assert Path(lgp_mailer.__file__).is_relative_to({str(site)!r}), lgp_mailer.__file__; "
        "from lgp_mailer.cli import main; sys.argv = ['lgp-mailer', 'preview', '--limit', '2']; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, encoding="utf-8"
    )
    assert result.returncode == 0, result.stderr
    assert "_shipped" in result.stderr  # "using the shipped example campaign (.../lgp_mailer/_shipped)"
    assert len(list((elsewhere / "preview").glob("*.eml"))) == 2
    assert len(list((elsewhere / "preview" / "files").glob("*-pelda-tamogato-*.png"))) == 3

    # The installed wheel speaks Hungarian: chosen by the locale, or by --lang.
    help_code = code.replace("'preview', '--limit', '2'", "{args}")
    bare = {k: v for k, v in env.items() if k not in ("LGP_MAILER_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    for args, extra in (("'send', '--help'", {"LANG": "hu_HU.UTF-8"}), ("'--lang', 'hu', 'send', '--help'", {})):
        shown = subprocess.run(
            [sys.executable, "-c", help_code.format(args=args)],
            cwd=elsewhere,
            env={**bare, **extra},
            capture_output=True,
            text=True,
            encoding="utf-8",
        )
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.splitlines()[0] == "Használat: lgp-mailer send [KAPCSOLÓK]"
        assert "Kapcsolók:" in shown.stdout.splitlines()
