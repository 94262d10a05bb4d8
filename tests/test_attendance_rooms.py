"""Attendees the platforms show under a room's or an office's name, and where the unmatched come from.

A municipality's meeting room or its office PC often joins for the mayor and colleagues:
"Polgármesteri Hivatal Őrség-próba", "Üröm-próba tárgyaló (Balogh R., Horváth L.)".  Left
unmatched, the registrant who sat in that room got the "you missed it" letter."""

from __future__ import annotations

from attendance_files import S, write_zoom
from test_attendance import _campaign, _import, _people

from lgp_mailer.campaign.attendees import match_attendance
from lgp_mailer.sheets.attendance import load_attendance


def _match(tmp_path, sessions):
    _, campaign = _campaign(tmp_path)
    report = load_attendance(write_zoom(tmp_path / "participants.csv", sessions))
    return match_attendance(list(report.sessions), _people(campaign), 30)


def test_an_office_or_a_room_named_after_a_municipality_is_its_one_person(tmp_path):
    match = _match(
        tmp_path,
        [
            # Őrség-próba: one invited person (ifj. Tóth Ferenc), nobody registered
            S("Polgármesteri Hivatal Őrség-próba", "", "10:00:00", "12:00:00", guest=True),
            # Üröm-próba: Balogh Réka registered, the office's address only invited: the registrant
            S("Üröm-próba tárgyaló (Balogh R., Horváth L.)", "", "10:00:00", "11:00:00", guest=True),
            # Hernádszentandrás Község Önkormányzata, written by the office itself
            S("Hernádszentandrás Község Önkormányzata", "", "10:00:00", "10:20:00", guest=True),
        ],
    )
    assert [(p.known.recipient.email, p.how, p.attendee.minutes, p.attended) for p in match.present] == [
        ("alpolgarmester@orseg-proba.example", "municipality", 120.0, True),
        ("referens@urom-proba.example", "name and municipality", 60.0, True),  # Balogh R. of Üröm-próba
        ("polgarmester@hernadszentandras.example", "municipality", 20.0, False),
    ]
    assert match.unmatched == []


def test_a_person_named_like_a_municipality_or_an_unknown_office_stays_unmatched(tmp_path):
    match = _match(
        tmp_path,
        [
            S("Mágocs Péter", "", "10:00:00", "12:00:00", guest=True),  # a surname, no office word
            S("Tárgyaló", "", "10:00:00", "12:00:00", guest=True),  # a room of no named place
            S("Polgármesteri Hivatal Nincsilyenfalva", "", "10:00:00", "12:00:00", guest=True),
        ],
    )
    assert match.present == []
    assert [a.name for a in match.unmatched] == ["Mágocs Péter", "Tárgyaló", "Polgármesteri Hivatal Nincsilyenfalva"]


def test_an_office_of_a_municipality_with_two_people_and_no_registrant_is_nobody(tmp_path):
    from dataclasses import replace

    _, campaign = _campaign(tmp_path)
    people = _people(campaign)
    (orseg,) = [k for k in people if k.recipient.email == "alpolgarmester@orseg-proba.example"]
    mayor = replace(orseg, recipient=replace(orseg.recipient, email="polgarmester@orseg-proba.example", name="X Y"))
    sessions = [S("Polgármesteri Hivatal Őrség-próba", "", "10:00:00", "12:00:00", guest=True)]
    report = load_attendance(write_zoom(tmp_path / "p.csv", sessions))
    match = match_attendance(list(report.sessions), [*people, mayor], 30)
    assert match.present == [] and [a.name for a in match.unmatched] == ["Polgármesteri Hivatal Őrség-próba"]


def test_the_unmatched_are_listed_as_written_with_their_rows(tmp_path):
    camp, _ = _campaign(tmp_path)
    path = write_zoom(
        tmp_path / "participants_81234567890.csv",
        [
            S("Kiss Ödön", "polgarmester@alsomocsolad.example", "09:58:00", "12:30:00"),
            S("Kovács J. (Kovács János iPad)", "", "10:00:00", "10:40:00", guest=True),
            S('=HYPERLINK("http://x.example","katt")', "", "10:00:00", "10:40:00", guest=True),
            S("Kovács J. (Kovács János iPad)", "", "10:45:00", "11:40:00", guest=True),
            S("Polgármesteri Hivatal Őrség-próba", "", "10:00:00", "12:00:00", guest=True),
        ],
    )
    result = _import(camp, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "Attended (at least 30 minutes): 2",
        "  Kiss Ödön <polgarmester@alsomocsolad.example>: 152 min, 1 session(s) (by address; registered; Alsómocsolád)",
        "  ifj. Tóth Ferenc <alpolgarmester@orseg-proba.example>: 120 min, 1 session(s) (by municipality; invited; "
        "Őrség-próba)",
        "Joined for less than 30 minutes: 0",
        "Attendees who match nobody on the invitation or registration list: 2",
        "  Kovács J. (Kovács János iPad) (no e-mail): 95 min, 2 session(s), guest; rows 6, 8",
        '  =HYPERLINK("http://x.example","katt") (no e-mail): 40 min, 1 session(s), guest; row 7',
    ]


def test_the_match_in_hungarian_has_decimal_commas_and_no_english_words(tmp_path):
    camp, _ = _campaign(tmp_path)
    path = write_zoom(
        tmp_path / "participants_81234567890.csv",
        [
            S("Kiss Ödön", "polgarmester@alsomocsolad.example", "09:58:12", "12:30:00"),
            S("Nagy Andrea", "polgarmester@ujfeherto-proba.example", "10:00:00", "10:20:00"),
            S("Kovács J.", "", "10:00:00", "10:40:00", guest=True),
        ],
    )
    from test_send_cli import runner

    from lgp_mailer.cli import app

    result = runner.invoke(app, ["--lang", "hu", "attendance", "import", str(path), "--campaign", str(camp.root)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "Részt vett (legalább 30 percig): 1",
        "  Kiss Ödön <polgarmester@alsomocsolad.example>: 151,8 perc, 1 csatlakozás "
        "(egyezés alapja: e-mail-cím; regisztrált; Alsómocsolád)",
        "30 percnél rövidebb ideig volt jelen: 1",
        "  Nagy Andrea <polgarmester@ujfeherto-proba.example>: 20 perc, 1 csatlakozás "
        "(egyezés alapja: e-mail-cím; meghívott; Újfehértó-próba)",
        "Résztvevők, akik sem a meghívottak, sem a jelentkezők listáján nem szerepelnek: 1",
        "  Kovács J. (e-mail-cím nélkül): 40 perc, 1 csatlakozás, vendég; sor: 7",
    ]


def test_a_name_typed_with_initials_is_the_one_person_it_abbreviates(tmp_path):
    from dataclasses import replace

    _, campaign = _campaign(tmp_path)
    people = _people(campaign)
    sessions = [
        S("Tóth P.", "", "10:00:00", "11:00:00", guest=True),  # Tóth Péter, not ifj. Tóth Ferenc
        S("E. Szűcs", "", "10:00:00", "11:00:00", guest=True),  # Dr. Szűcs Erzsébet, the other way round
        S("Fehérné Gy. I.", "", "10:00:00", "11:00:00", guest=True),  # a digraph initial
        S("Nagy A. - Újfehértó-próba", "", "10:00:00", "11:00:00", guest=True),
        S("Tóth", "", "10:00:00", "11:00:00", guest=True),  # no initial: nobody
        S("Kiss Ö. Ödön", "", "10:00:00", "11:00:00", guest=True),  # not an abbreviation of Kiss Ödön
    ]
    report = load_attendance(write_zoom(tmp_path / "p.csv", sessions))
    match = match_attendance(list(report.sessions), people, 30)
    assert [(p.known.recipient.email, p.how) for p in match.present] == [
        ("szervezo@egyesulet.example", "name"),
        ("polgarmester@hernadszentandras.example", "name"),
        ("jegyzo@kozoshivatal-bikal.example", "name"),
        ("polgarmester@ujfeherto-proba.example", "name and municipality"),
    ]
    assert [a.name for a in match.unmatched] == ["Tóth", "Kiss Ö. Ödön"]
    (toth,) = [k for k in people if k.recipient.email == "szervezo@egyesulet.example"]
    pal = replace(toth, recipient=replace(toth.recipient, email="toth.pal@masik.example", name="Tóth Pál"))
    again = match_attendance(list(report.sessions[:1]), [*people, pal], 30)
    assert again.present == [] and [a.name for a in again.unmatched] == ["Tóth P."]  # two Tóth P.-s


def test_an_office_typed_beside_the_name_or_instead_of_it(tmp_path):
    match = _match(
        tmp_path,
        [
            S("Nagy Andrea polgármester", "", "10:00:00", "11:00:00", guest=True),
            S("Horváth Lászlóné jegyző, Zalaszentgyörgy-próba", "", "10:00:00", "11:00:00", guest=True),
            S("Őrség-próba alpolgármestere", "", "10:00:00", "11:00:00", guest=True),
            S("Hernádszentandrás jegyzője", "", "10:00:00", "11:00:00", guest=True),  # its one person is the mayor
        ],
    )
    assert [(p.known.recipient.email, p.how) for p in match.present] == [
        ("polgarmester@ujfeherto-proba.example", "name"),
        ("jegyzo@zalaszentgyorgy-proba.example", "name and municipality"),
        ("alpolgarmester@orseg-proba.example", "municipality"),
    ]
    assert [a.name for a in match.unmatched] == ["Hernádszentandrás jegyzője"]


def test_terminal_escapes_and_bidi_overrides_in_a_typed_name_are_blanked_on_screen(tmp_path):
    camp, _ = _campaign(tmp_path)
    path = write_zoom(
        tmp_path / "participants_81234567890.csv",
        [
            S("Kiss Ödön", "polgarmester@alsomocsolad.example", "09:58:00", "12:30:00"),
            S("Vendég\x1b[2J\x1b[31m Elek\x07", "", "10:00:00", "10:40:00", guest=True),
            S("\u202eKovács\u202c Pál", "", "10:00:00", "10:40:00", guest=True),
        ],
    )
    result = _import(camp, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == [
        "  Vendég [2J [31m Elek  (no e-mail): 40 min, 1 session(s), guest; row 6",
        "   Kovács  Pál (no e-mail): 40 min, 1 session(s), guest; row 7",
    ]


def test_a_registrant_from_a_private_address_joining_as_a_guest_is_the_registrant(tmp_path):
    """Balogh Réka is on the sheet at the office's address and registered from her own: one person."""
    from dataclasses import replace

    _, campaign = _campaign(tmp_path)
    people = [
        replace(k, recipient=replace(k.recipient, name="Balogh Réka"))
        if k.recipient.email == "hivatal@urom-proba.example"
        else k
        for k in _people(campaign)
    ]
    sessions = [S("Balogh Réka", "", "10:00:00", "11:00:00", guest=True)]
    report = load_attendance(write_zoom(tmp_path / "p.csv", sessions))
    (found,) = match_attendance(list(report.sessions), people, 30).present
    assert (found.known.recipient.email, found.how, found.known.registered) == (
        "referens@urom-proba.example",
        "name",
        True,
    )
    # Two Balogh Rékas of two municipalities, neither registered: nobody, as before
    other = [replace(k, registered=False) for k in people if k.recipient.email == "referens@urom-proba.example"]
    moved = [replace(k, recipient=replace(k.recipient, municipalities=("Bikal",))) for k in other]
    rest = [k for k in people if k.recipient.email != "referens@urom-proba.example"]
    assert match_attendance(list(report.sessions), [*rest, *moved], 30).present == []


def test_a_registrant_who_joins_from_the_invited_office_address_is_not_sent_the_recording(tmp_path):
    """Balogh Réka registered from referens@; the office's invited hivatal@ got the reminder beside her."""
    _, campaign = _campaign(tmp_path)
    people = _people(campaign)
    (office,) = [k for k in people if k.recipient.email == "hivatal@urom-proba.example"]
    assert (office.registered, office.recipient.registered_as) == (False, "referens@urom-proba.example")
    her = [S("Balogh Réka", "hivatal@urom-proba.example", "10:00:00", "11:00:00")]
    match = match_attendance(list(load_attendance(write_zoom(tmp_path / "a.csv", her)).sessions), people, 30)
    assert [(p.known.recipient.email, p.how) for p in match.present] == [("hivatal@urom-proba.example", "address")]
    assert match.attended_addresses() == {"hivatal@urom-proba.example", "referens@urom-proba.example"}
    colleague = [S("Polgár Péter", "hivatal@urom-proba.example", "10:00:00", "11:00:00")]
    other = match_attendance(list(load_attendance(write_zoom(tmp_path / "b.csv", colleague)).sessions), people, 30)
    assert other.attended_addresses() == {"hivatal@urom-proba.example"}  # someone else: she did miss it


def test_a_person_matched_by_name_and_by_their_office_is_said_to_be_matched_by_name(tmp_path):
    match = _match(
        tmp_path,
        [
            S("Nagy Andrea", "", "10:00:00", "10:30:00", guest=True),
            S("Újfehértó-próba polgármestere", "", "10:20:00", "11:00:00", guest=True),
        ],
    )
    assert [(p.known.recipient.email, p.how, p.attendee.minutes, p.attendee.sessions) for p in match.present] == [
        ("polgarmester@ujfeherto-proba.example", "name", 60.0, 2)
    ]
