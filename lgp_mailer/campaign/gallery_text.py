"""Every word the preview gallery shows, in one place (Hungarian, the office's language).

The gallery's HTML templates read :data:`TEXT` by key, and its script gets
the same table as JSON, so translating the gallery means translating this
one dictionary.  The letters themselves are always Hungarian and are not
here.  Header names (From, To...) are shown with their Hungarian label and
the header's own name, because that is what a mail client's "show original"
prints.
"""

from __future__ import annotations

from typing import Final

TEXT: Final[dict[str, str]] = {
    "lang": "hu",
    "title": "Előnézet",
    "skip": "Ugrás a táblázathoz",
    "summary": "{rendered} levél elkészült, {failed} hibás; {warned} levélhez tartozik figyelmeztetés.",
    "campaign": "Kampány",
    "kind": "Üzenet típusa",
    "sheet_notes": "A címlista észrevételei, amelyek egyik levélhez sem köthetők ({count})",
    "sheet_notes_more": "… és még {count}; a teljes lista: lgp-mailer check",
    "filters": "Szűrés",
    "search": "Keresés (ékezet nélkül is)",
    "search_hint": "név, település, megye, cím, megszólítás…",
    "county": "Megye",
    "county_all": "minden megye",
    "kind_all": "minden típus",
    "warned_only": "csak a figyelmeztetéssel",
    "export": "Szűrt sorok mentése CSV-be",
    "page_size": "Sor oldalanként",
    "first": "Első oldal",
    "prev": "Előző oldal",
    "next": "Következő oldal",
    "last": "Utolsó oldal",
    "status": "{from}\u2013{to}. sor, {shown} találat (összesen {total} levél)",
    "status_empty": "Nincs találat (összesen {total} levél)",
    "timing": "Frissítés: {ms} ms",
    "table_caption": "Levelek: egy sor egy levél; a fejlécre kattintva rendezhető",
    "sort_hint": "rendezés",
    "col_n": "#",
    "col_municipalities": "Önkormányzat",
    "col_county": "Megye",
    "col_name": "Név",
    "col_role": "Beosztás",
    "col_salutation": "Megszólítás",
    "col_email": "E-mail-cím",
    "col_subject": "Tárgy",
    "col_kind": "Típus",
    "col_warnings": "Figyelmeztetés",
    "col_file": "Levél",
    "open_letter": "{n}. levél megnyitása",
    "not_rendered": "nem készült el",
    "row": "{row}. sor",
    "csv_file": "elonezet.csv",
    "back": "Vissza a listához",
    "letter": "{n}. levél",
    "letter_of": "{n}. levél {article} {total} közül",  # article: "a" or "az" before the number
    "previous_letter": "Előző levél",
    "next_letter": "Következő levél",
    "envelope": "Boríték",
    "h_from": "Feladó",
    "h_to": "Címzett",
    "h_reply_to": "Válaszcím",
    "h_subject": "Tárgy",
    "h_date": "Dátum",
    "h_list_unsubscribe": "Leiratkozás",
    "attachments": "Mellékletek",
    "calendar": "Naptárbejegyzés",
    "cal_summary": "Megnevezés",
    "cal_start": "Kezdés",
    "cal_end": "Befejezés",
    "cal_uid": "UID",
    "cal_sequence": "SEQUENCE",
    "cal_method": "METHOD",
    "inline_image": "Beágyazott kép",
    "download": "megnyitás",
    "show_text": "Szöveges változat",
    "show_html": "HTML-változat",
    "letter_frame": "A levél, ahogy a címzett látja",
    "warnings": "Figyelmeztetések a címlistából",
    "no_warnings": "Nincs figyelmeztetés.",
    "recipient": "Címzett adatai",
    "missing": "\u2013",  # an en dash
}


def text(key: str, **values: object) -> str:
    """The label ``key``, with ``{name}`` placeholders filled in."""
    return TEXT[key].format(**values) if values else TEXT[key]
