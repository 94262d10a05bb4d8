"""Every word the preview gallery shows, in one place, in the interface language.

The gallery's HTML templates read :func:`text` by key, and its script gets
the same table as JSON (:func:`table`), so the gallery follows ``--lang``
like the rest of the interface: the English source is marked here with
``N_`` and translated when a gallery is written.  The letters themselves
are always Hungarian and are not here.  Header names (From, To...) are shown
with their label and the header's own name, because that is what a mail
client's "show original" prints.
"""

from __future__ import annotations

from typing import Final

from lgp_mailer.i18n import N_, _, current_language

TEXT: Final[dict[str, str]] = {
    "title": N_("Preview"),
    "skip": N_("Skip to the table"),
    "summary": N_("Letters ready: {rendered}; failed: {failed}; with warnings: {warned}."),
    "campaign": N_("Campaign"),
    "kind": N_("Message kind"),
    "sheet_notes": N_("Notes on the contact sheet that belong to no letter ({count})"),
    "sheet_notes_more": N_("… and {count} more; the full list: lgp-mailer check"),
    "filters": N_("Filters"),
    "search": N_("Search (accents optional)"),
    "search_hint": N_("name, municipality, county, address, salutation…"),
    "county": N_("County"),
    "county_all": N_("all counties"),
    "kind_all": N_("all kinds"),
    "warned_only": N_("only those with warnings"),
    "export": N_("Save the filtered rows as CSV"),
    "page_size": N_("Rows per page"),
    "first": N_("First page"),
    "prev": N_("Previous page"),
    "next": N_("Next page"),
    "last": N_("Last page"),
    "status": N_("Rows {from}\u2013{to}, {shown} matches ({total} letters in all)"),
    "status_empty": N_("No matches ({total} letters in all)"),
    "timing": N_("Updated in {ms} ms"),
    "table_caption": N_("Letters: one row per letter; click a column header to sort"),
    "sort_hint": N_("sort"),
    "col_n": "#",  # the same in every language: not marked
    "col_municipalities": N_("Municipality"),
    "col_county": N_("County"),
    "col_name": N_("Name"),
    "col_role": N_("Position"),
    "col_salutation": N_("Salutation"),
    "col_email": N_("E-mail address"),
    "col_subject": N_("Subject"),
    "col_kind": N_("Kind"),
    "col_warnings": N_("Warnings"),
    "col_file": N_("Letter"),
    "open_letter": N_("Open letter {n}"),
    "not_rendered": N_("not rendered"),
    "row": N_("row {row}"),
    "csv_file": N_("preview.csv"),
    "back": N_("Back to the list"),
    "letter": N_("Letter {n}"),
    "letter_of": N_("Letter {n} of {total}"),
    "previous_letter": N_("Previous letter"),
    "next_letter": N_("Next letter"),
    "envelope": N_("Envelope"),
    "h_from": N_("Sender"),
    "h_to": N_("Recipient"),
    "h_reply_to": N_("Reply address"),
    "h_subject": N_("Subject"),
    "h_date": N_("Date"),
    "h_list_unsubscribe": N_("Unsubscribe"),
    "attachments": N_("Attachments"),
    "calendar": N_("Calendar entry"),
    "cal_summary": N_("Title"),
    "cal_start": N_("Starts"),
    "cal_end": N_("Ends"),
    "cal_uid": "UID",  # the same in every language: not marked
    "cal_sequence": "SEQUENCE",  # the same in every language: not marked
    "cal_method": "METHOD",  # the same in every language: not marked
    "inline_image": N_("Inline image"),
    "download": N_("open"),
    "show_text": N_("Plain-text version"),
    "show_html": N_("HTML version"),
    "letter_frame": N_("The letter as the recipient sees it"),
    "warnings": N_("Warnings from the contact sheet"),
    "no_warnings": N_("No warnings."),
    "recipient": N_("Recipient details"),
    "missing": "\u2013",  # an en dash
}

_SAME = frozenset({"col_n", "cal_uid", "cal_sequence", "cal_method", "missing"})  # shown as they are


def label(key: str) -> str:
    """The label ``key`` in the interface language."""
    return TEXT[key] if key in _SAME else _(TEXT[key])


def text(key: str, **values: object) -> str:
    """The label ``key`` in the interface language, with ``{name}`` placeholders filled in."""
    if key == "lang":
        return current_language()
    return label(key).format(**values) if values else label(key)


def table() -> dict[str, str]:
    """Every label in the interface language (and ``lang``), for the gallery's script."""
    return {"lang": current_language(), **{key: label(key) for key in TEXT}}
