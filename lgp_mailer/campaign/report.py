"""The committee report's figures: the funnel per campaign, by county and by role, and the series view.

The sent log gives one row per letter (``ledger.report``); pandas joins the
invitations with the reminders, the follow-ups, the registrations and the
attendance, and groups them.  pandas is imported only here (and by the
writers), never on the send path: ``pip install 'lgp-mailer[report]'``.

What counts, per invitation letter (one address, one or more municipalities):

* **invited**: an invitation row exists;
* **delivered**: it was sent and did not bounce (no bounce suppression, not
  failed after the server took it);
* **failed or bounced**: failed, invalid, or bounced after sending;
* **registered**: the address is in the registration export (configured
  campaign only: matched with ``match_registrations``) or got a reminder or the
  recording, which go only to registrants;
* **reminded**: a reminder was sent;
* **attended**: the current attendance import, matched by ``campaign.attendees``
  (by address; names only where the registration export gives them) with the
  event file's minutes threshold, or a thanks letter was sent;
* **followed up**: a thanks or recording letter was sent.

Roles come from the contact sheet of the configured campaign (joined on the
address), else the registration form; the sent log does not keep them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lgp_mailer.campaign.attendees import Known, match_attendance, unaliased
from lgp_mailer.campaign.matching import match_registrations
from lgp_mailer.errors import ConfigError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.report import MESSAGE_COLUMNS, campaign_ids, current_sessions, message_rows
from lgp_mailer.ledger.store import Ledger
from lgp_mailer.quoting import quoted
from lgp_mailer.roles import read_role
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.sheets.registrations import RegistrationList

if TYPE_CHECKING:
    import pandas as pd

UNKNOWN = "ismeretlen"  # the county or role when nobody said
STAGES = ("invited", "delivered", "failed", "registered", "reminded", "attended", "followed_up")
# Hungarian column headings, in the order of STAGES.
STAGE_LABELS = {
    "invited": "Meghívott",
    "delivered": "Kézbesített",
    "failed": "Sikertelen vagy visszapattant",
    "registered": "Regisztrált",
    "reminded": "Emlékeztetőt kapott",
    "attended": "Részt vett",
    "followed_up": "Követő levelet kapott",
}
SENT_STATUSES = ("sent",)
FAILED_STATUSES = ("failed", "invalid")


@dataclass
class CampaignInput:
    """What the configured campaign adds to the sent log: its sheet, registrations and threshold."""

    campaign_id: str
    recipients: list[Recipient] = field(default_factory=list)
    registrations: RegistrationList | None = None


@dataclass
class ReportData:
    campaigns: list[str]
    letters: pd.DataFrame  # one row per invitation letter, the stage flags as bools
    funnel: pd.DataFrame  # per campaign
    by_county: pd.DataFrame  # per campaign and county
    by_role: pd.DataFrame  # per campaign and role
    series: pd.DataFrame  # per campaign: municipalities attending, new, returning
    repeat: pd.DataFrame  # how many municipalities attended 1, 2, … conferences
    unreached: list[str]  # counties with invitations but no delivered letter in any campaign
    municipalities: pd.DataFrame  # per municipality (the --detail sheet): county, invited, attended


@dataclass
class Series:
    series: pd.DataFrame
    repeat: pd.DataFrame
    unreached: list[str]
    municipalities: pd.DataFrame


def select_campaigns(ledger: Ledger, wanted: Iterable[str]) -> list[str]:
    """The campaigns asked for (in series order), or every campaign in the sent log."""
    known = campaign_ids(ledger)
    chosen = list(dict.fromkeys(wanted))
    missing = [c for c in chosen if c not in known]
    if missing:
        raise ConfigError(
            _("campaign {missing} has no invitations in the sent log (it has: {known})").format(
                missing=quoted(missing[0]), known=", ".join(known) or "none"
            ),
            key="campaign-id",
        )
    if not known:
        raise ConfigError(_("the sent log has no invitations yet: nothing to report"), key="campaign-id")
    return [c for c in known if c in chosen] if chosen else known


# A credit names a campaign's letter by address ("a") or by one of its municipalities ("m"):
# a registrant or attendee writing from another address still counts for the municipality's letter.
# A letter's own address credits only itself: the mayor's reminder is not the notary's.
Credits = set[tuple[str, str, str]]
Letters = set[tuple[str, str]]  # (campaign, address) of every invitation letter


def collect(ledger: Ledger, campaigns: list[str], extra: CampaignInput | None, threshold: float) -> ReportData:
    """Read the sent log and build every table of the report."""
    import pandas as pd

    rows = pd.DataFrame(message_rows(ledger, campaigns), columns=list(MESSAGE_COLUMNS), dtype=str)
    letters = _letters(rows)
    sent = rows[(rows["status"] == "sent") & (rows["kind"] != "invitation")]
    own: Letters = set(zip(letters["campaign_id"].tolist(), letters["address_key"].tolist(), strict=True))
    credits = {
        "registered": _credits(sent, ("reminder", "recording"), own) | _registered(extra),
        "reminded": _credits(sent, ("reminder",), own),
        "attended": _credits(sent, ("thanks",), own) | _attended(ledger, campaigns, letters, extra, threshold, own),
        "followed_up": _credits(sent, ("thanks", "recording"), own),
    }
    keys = list(zip(letters["campaign_id"].tolist(), letters["address_key"].tolist(), letters["places"], strict=True))
    for flag, found in credits.items():
        letters[flag] = [("a", c, a) in found or any(("m", c, p) in found for p in places) for c, a, places in keys]
    letters["campaign_id"] = pd.Categorical(letters["campaign_id"], categories=campaigns, ordered=True)
    letters["role"] = _roles(letters, extra)
    series = _series(letters, campaigns)
    return ReportData(
        campaigns=campaigns,
        letters=letters,
        funnel=_grouped(letters, ["campaign_id"]),
        by_county=_grouped(letters, ["campaign_id", "county"]),
        by_role=_grouped(letters, ["campaign_id", "role"]),
        series=series.series,
        repeat=series.repeat,
        unreached=series.unreached,
        municipalities=series.municipalities,
    )


def _letters(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per invitation: its municipalities, county and delivery."""
    invitations = rows[rows["kind"] == "invitation"]
    letters = invitations[["campaign_id", "address_key", "county"]].reset_index(drop=True)
    letters["places"] = [_municipalities(text) for text in invitations["municipalities"].tolist()]
    letters["county"] = letters["county"].where(letters["county"].str.strip() != "", UNKNOWN)
    bounced = invitations["bounced"].eq("1").to_numpy()
    letters["invited"] = True
    letters["delivered"] = invitations["status"].eq("sent").to_numpy() & ~bounced
    letters["failed"] = invitations["status"].isin(FAILED_STATUSES).to_numpy() | bounced
    return letters


def _credits(sent: pd.DataFrame, kinds: tuple[str, ...], own: Letters) -> Credits:
    """The letters that ``kinds`` sent to (by address; by the municipalities the row names when
    its address is no letter's own)."""
    chosen = sent[sent["kind"].isin(kinds)]
    found: Credits = set()
    for campaign_id, address, text in zip(
        chosen["campaign_id"].tolist(), chosen["address_key"].tolist(), chosen["municipalities"].tolist(), strict=True
    ):
        found |= _credit(campaign_id, address, _municipalities(text), own)
    return found


def _credit(campaign_id: str, address: str, places: Iterable[str], own: Letters) -> Credits:
    if (campaign_id, address) in own:
        return {("a", campaign_id, address)}
    return {("a", campaign_id, address)} | {("m", campaign_id, place) for place in places}


def _registered(extra: CampaignInput | None) -> Credits:
    """The configured campaign's invitation letters its registration export matches."""
    if extra is None or extra.registrations is None:
        return set()
    report = match_registrations(extra.registrations, extra.recipients)
    return {("a", extra.campaign_id, address.strip().lower()) for address in report.registered_addresses()}


def _attended(
    ledger: Ledger,
    campaigns: list[str],
    letters: pd.DataFrame,
    extra: CampaignInput | None,
    threshold: float,
    own: Letters,
) -> Credits:
    """The letters of every known person attending at least ``threshold`` minutes."""
    found: Credits = set()
    for campaign_id, sessions in current_sessions(ledger, campaigns).items():
        # Without names (the sent log has none) only an address can match: keep those letters.
        emails = {s.email.strip().lower() for s in sessions if s.email}
        emails |= {unaliased(e) for e in emails}  # kiss+zoom@… attended for kiss@…'s letter
        mine = letters[(letters["campaign_id"] == campaign_id) & letters["address_key"].isin(emails)]
        match = match_attendance(sessions, _people(mine, extra, campaign_id), int(threshold))
        for presence in match.attended():
            recipient = presence.known.recipient
            found |= _credit(campaign_id, recipient.email.strip().lower(), recipient.municipalities, own)
    return found


def _people(letters: pd.DataFrame, extra: CampaignInput | None, campaign_id: str) -> list[Known]:
    """The invited of one campaign: the sheet's recipients (with names) when configured, else the sent log."""
    people: dict[str, Known] = {}
    if extra is not None and extra.campaign_id == campaign_id:
        from lgp_mailer.campaign.attendees import known_people

        people = {k.recipient.email.casefold(): k for k in known_people(extra.recipients, extra.registrations)}
    for address, places in zip(letters["address_key"], letters["places"], strict=True):
        recipient = Recipient(address, tuple(places), "")
        people.setdefault(address.casefold(), Known(recipient, False))
    return list(people.values())


@functools.lru_cache(maxsize=65536)
def _municipalities(text: str) -> tuple[str, ...]:
    """The municipalities JSON of a ledger row (the same text recurs across campaigns and kinds)."""
    return tuple(_parse_municipalities(text))


def _parse_municipalities(text: str) -> list[str]:
    try:
        names = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(n) for n in names if str(n).strip()] if isinstance(names, list) else []


def _roles(letters: pd.DataFrame, extra: CampaignInput | None) -> list[str]:
    """The role of each letter's address on the contact sheet, else in the registration form."""
    roles: dict[str, str] = {}
    if extra is not None:
        if extra.registrations is not None:
            roles |= {r.email.strip().lower(): r.role for r in extra.registrations.registrants if r.role}
        roles |= {r.email.strip().lower(): r.role for r in extra.recipients if r.role}
    return [_office(roles.get(a) or UNKNOWN) for a in letters["address_key"]]


@functools.lru_cache(maxsize=1024)
def _office(role: str) -> str:
    """The office ("Polgármester úr", "PM" and "polgármester" are one row of the report), else the text."""
    read = read_role(role)
    return read.office if read is not None and read.office else role.strip().lower()


def _grouped(letters: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The stage counts summed per group, with the rates (each stage over the invited)."""
    table = letters.groupby(by, observed=True, sort=True)[list(STAGES)].sum().astype("int64").reset_index()
    table["campaign_id"] = table["campaign_id"].astype(str)
    for stage in STAGES[1:]:
        table[f"{stage}_rate"] = table[stage] / table["invited"].where(table["invited"] > 0)
        table[f"{stage}_rate"] = table[f"{stage}_rate"].fillna(0.0)
    return table


def _series(letters: pd.DataFrame, campaigns: list[str]) -> Series:
    """Which municipalities attended how many conferences, new versus returning, counties never reached."""
    import pandas as pd

    places = letters[["campaign_id", "places", "county", "attended", "delivered"]].rename(
        columns={"places": "municipality"}
    )
    places = places.explode("municipality").dropna(subset=["municipality"])
    grouped = places.groupby(["municipality", "county", "campaign_id"], observed=True)["attended"].any()
    per_place: pd.DataFrame = grouped.reset_index()
    went: pd.DataFrame = per_place[per_place["attended"]]
    order = {c: i for i, c in enumerate(campaigns)}
    first = went.assign(n=went["campaign_id"].astype(str).map(order)).groupby("municipality")["n"].min()
    series_rows = []
    for campaign_id in campaigns:
        here = went[went["campaign_id"] == campaign_id]["municipality"].unique()
        new = sum(1 for m in here if first[m] == order[campaign_id])
        series_rows.append(
            {"campaign_id": campaign_id, "attending": len(here), "new": new, "returning": len(here) - new}
        )
    counts = went.groupby("municipality")["campaign_id"].nunique()
    repeat = counts.value_counts().reindex(range(1, len(campaigns) + 1), fill_value=0)
    reached = places.groupby("county")["delivered"].any()
    detail = per_place.groupby(["municipality", "county"], observed=True).agg(
        invited=("campaign_id", "nunique"), attended=("attended", "sum")
    )
    return Series(
        series=pd.DataFrame(series_rows, columns=["campaign_id", "attending", "new", "returning"]),
        repeat=pd.DataFrame({"conferences": repeat.index.astype("int64"), "municipalities": repeat.to_numpy()}),
        unreached=sorted(str(c) for c, ok in reached.items() if not ok),
        municipalities=detail.reset_index().astype({"invited": "int64", "attended": "int64"}),
    )


__all__ = ["STAGES", "STAGE_LABELS", "CampaignInput", "ReportData", "collect", "select_campaigns"]
