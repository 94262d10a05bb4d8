"""The core speaks the interface language: its error messages, check report and gallery are marked.

An AST scan finds a user-facing message outside cli/ that is not wrapped in ``_()``
or ``ngettext()``: the message of every error the core raises (any LgpError subclass,
and the helpers that build one), what ``check`` prints, and the preview gallery's labels.
The Hungarian tests compile the catalog (tests/hungarian.py) and assert exact lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from hungarian import PO, hungarian

import lgp_mailer
from lgp_mailer import i18n, kinds
from lgp_mailer.campaign.check import check_file, format_report
from lgp_mailer.campaign.gallery_text import table, text
from lgp_mailer.config import load_campaign
from lgp_mailer.errors import ConfigError, RecipientsError
from lgp_mailer.ledger.rows import status_label
from lgp_mailer.ledger.status import blocked_text
from lgp_mailer.quoting import quoted
from lgp_mailer.smtp.hints import hint_line
from lgp_mailer.smtp.settings import resolve_smtp_settings

from sheets_factory import HEADER, write_xlsx

CORE = Path(lgp_mailer.__file__).parent
ROOT_ERRORS = {"LgpError", "AddressError"}  # AddressError is a ValueError whose text becomes a finding
# Functions that build an error or a finding (a row of the check table) from a message:
# every prose argument they get must be marked.
HELPERS = {"err", "error", "refused", "_over", "_named", "warn", "problem", "note"}
# Modules whose every prose literal is shown to the user (docstrings and marked strings aside).
ALL_PROSE = ("campaign/check.py", "campaign/gallery_text.py", "smtp/hints.py")
MARKERS = {"_", "N_", "ngettext"}
# A translation has the same placeholders as its English (conversions and format specs included),
# so a value is quoted by quoting.quoted(), never by quote marks written into the translation.
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
NOT_PROSE = {"python -m aiosmtpd -n -l 127.0.0.1:8025"}  # a command line, the same in every language


def core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "cli" not in p.relative_to(CORE).parts)


def error_classes(trees: list[ast.Module], roots: frozenset[str] = frozenset(ROOT_ERRORS)) -> set[str]:
    """LgpError and every class that derives from it, anywhere in the core (to a fixed point)."""
    names = set(roots)
    while True:
        more = {
            node.name
            for tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id in names for b in node.bases)
        }
        if more <= names:
            return names
        names |= more


def is_prose(text: str) -> bool:
    return " " in text.strip()


def unmarked(node: ast.expr) -> bool:
    """True when ``node`` is (or contains at its top) user text that no _() translates."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and is_prose(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and is_prose(str(v.value)) for v in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return isinstance(node.func.value, ast.Constant | ast.JoinedStr) or unmarked(node.func.value)
    if isinstance(node, ast.BinOp):
        return unmarked(node.left) or unmarked(node.right)
    if isinstance(node, ast.IfExp):
        return unmarked(node.body) or unmarked(node.orelse)
    return False


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def findings_in(source: str, errors: set[str], *, all_prose: bool = False, name: str = "<snippet>") -> list[str]:
    """``name:line: text`` for each unmarked message in ``source``."""
    tree = ast.parse(source)
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (_called(node) in errors or _called(node) in HELPERS):
            found += [arg for arg in node.args if unmarked(arg)]
            found += [k.value for k in node.keywords if k.arg == "message" and unmarked(k.value)]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "message" for t in node.targets
        ):
            found += [node.value] if unmarked(node.value) else []
    if all_prose:
        found += _loose_literals(tree)
    return [f"{name}:{n.lineno}: {ast.get_source_segment(source, n)}" for n in found]


def _loose_literals(tree: ast.Module) -> list[ast.expr]:
    """Prose literals that are neither docstrings nor inside _(), N_() or ngettext()."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in MARKERS | {"format"}:
            for sub in ast.walk(node):
                if sub is not node.func:
                    inside.add(id(sub))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            inside.add(id(node.value))  # a docstring
        if isinstance(node, ast.JoinedStr):
            inside.update(id(v) for v in node.values)  # judged as part of the whole f-string
        if isinstance(node, ast.Compare):
            inside.update(id(c) for c in [node.left, *node.comparators])  # matched against a server's reply
    return [
        n
        for n in ast.walk(tree)
        if id(n) not in inside
        and isinstance(n, ast.Constant | ast.JoinedStr)
        and unmarked(n)
        and getattr(n, "value", None) not in NOT_PROSE
    ]


def scan() -> list[str]:
    sources = {p: p.read_text(encoding="utf-8") for p in core_files()}
    errors = error_classes([ast.parse(s) for s in sources.values()])
    problems: list[str] = []
    for path, source in sources.items():
        rel = path.relative_to(CORE).as_posix()
        problems += findings_in(source, errors, all_prose=rel in ALL_PROSE, name=rel)
    return problems


def test_every_core_error_message_and_check_line_is_marked_for_translation():
    assert scan() == []


@pytest.mark.parametrize(
    "snippet",
    [
        'raise ConfigError("the file is missing", file=path)',
        'raise ConfigError(f"cannot read {path}: {reason}")',
        'raise ConfigError("cannot read {path}".format(path=path))',
        'raise err("sender.name", "missing key")',
        'raise ConfigError(_("ok") if x else "not ok at all")',
        'error.message = f"{error.message} (the message to {address})"',
        "class MineError(ConfigError): ...\nraise MineError('a new subclass is scanned too')",
    ],
)
def test_the_scan_finds_an_unmarked_message(snippet):
    source = snippet
    errors = error_classes([ast.parse(source)], frozenset({"ConfigError"}))
    assert len(findings_in(source, errors)) == 1


def test_the_scan_accepts_marked_messages_and_keys():
    source = (
        'raise ConfigError(_("cannot read {path}: {reason}").format(path=p, reason=r), key="sender.name")\n'
        'raise err(f"limits.{key}", _("missing key"))\n'
        'raise ConfigError(ngettext("{n} row", "{n} rows", n).format(n=n))\n'
    )
    assert findings_in(source, {"ConfigError"}) == []


def test_check_and_gallery_modules_have_no_loose_prose():
    assert findings_in('x = "a loose sentence"\ny = _("a marked one")\n', set(), all_prose=True) == [
        '<snippet>:1: "a loose sentence"'
    ]


def test_no_core_module_rebinds_the_translation_function():
    """A local ``_`` (a throwaway loop variable) would shadow _() in the whole function."""
    rebound = []
    for path in core_files():
        source = path.read_text(encoding="utf-8")
        if "from lgp_mailer.i18n import" not in source:
            continue
        tree = ast.parse(source)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            comprehension_targets = {
                id(t) for c in ast.walk(fn) if isinstance(c, ast.comprehension) for t in ast.walk(c.target)
            }
            rebound += [
                f"{path.relative_to(CORE)}:{n.lineno}"
                for n in ast.walk(fn)
                if isinstance(n, ast.Name)
                and n.id == "_"
                and isinstance(n.ctx, ast.Store)
                and id(n) not in comprehension_targets
            ]
    assert rebound == []


def translated_at_import(source: str) -> list[int]:
    """Lines of _() calls that run when the module is imported: module and class bodies,
    default values and decorators (function bodies run later, when the language is set)."""
    found: list[int] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            early = [*args.defaults, *[d for d in args.kw_defaults if d is not None]]
            for child in [*early, *getattr(node, "decorator_list", [])]:
                visit(child)
            return
        if isinstance(node, ast.Call) and _called(node) in {"_", "ngettext"}:
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return sorted(found)


def test_nothing_is_translated_at_import_time():
    """A _() that runs at import would freeze the language chosen before --lang was read; N_() marks instead."""
    early = [
        f"{path.relative_to(CORE)}:{line}"
        for path in core_files()
        for line in translated_at_import(path.read_text(encoding="utf-8"))
    ]
    assert early == []


def test_the_import_time_scan_can_fail():
    source = (
        'LABEL = _("at import")\n'
        "class A:\n"
        '    title = _("in a class body")\n'
        '    def f(self, x=_("a default")):\n'
        '        return _("at call time")\n'
    )
    assert translated_at_import(source) == [1, 3, 4]


def test_every_string_the_core_marks_has_a_hungarian_translation():
    with PO.open("rb") as source:
        catalog = read_po(source)
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    missing = []
    for path in core_files():
        if path.name == "i18n.py":
            continue
        for line, message, _comments, _context in extract_from_file("python", str(path), keywords=keywords):
            msgid = message if isinstance(message, str) else message[0]
            entry = catalog.get(msgid)
            strings = () if entry is None else entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if entry is None or not all(strings) or entry.fuzzy:
                missing.append(f"{path.relative_to(CORE)}:{line}: {msgid}")
            elif any(set(PLACEHOLDER.findall(s)) != set(PLACEHOLDER.findall(msgid)) for s in strings):
                missing.append(f"{path.relative_to(CORE)}:{line}: other placeholders: {strings}")
    assert missing == []


def test_a_quoted_value_is_repr_in_english_and_hungarian_quotes_in_hungarian(tmp_path):
    assert quoted("Lap1") == "'Lap1'"
    with hungarian(tmp_path / "locale"):
        assert quoted("Lap1") == "„Lap1”"


# --- The same messages in Hungarian and in English ------------------------------------------

SHEET = [
    HEADER,
    ["Baranya", "Bikal", "Fehérné Győri Ilona", "jegyző", None, "jegyzo@bikal.example"],
    ["Zala", None, "Nagy Andrea", "polgármester", "nő", "pm@zala.example"],
    ["Pest", "Üröm", "Kiss Kim", "polgármester", None, "pm@urom.example"],
]


def bad_campaign(folder: Path) -> Path:
    config = folder / "lgp-mailer.toml"
    config.write_text(
        'campaign_id = "lgp-proba"\nevent = "e.toml"\nrecipients = "r.xlsx"\n[sender]\nname = "Iroda"\n',
        encoding="utf-8",
    )
    return config


def core_lines(folder: Path) -> list[str]:
    """One error with file and key, one with sheet, row and column, the check table, a hint, labels."""
    lines = []
    config = bad_campaign(folder)
    with pytest.raises(ConfigError) as missing:
        load_campaign(config)
    lines.append(str(missing.value).replace(str(config), "CONFIG"))
    where = RecipientsError("x", file="r.xlsx", sheet="Lap1", row=3, column="E-mail", key="sender.email")
    lines.append(where.where)
    report = check_file(write_xlsx(folder / "r.xlsx", {"Lap1": SHEET}))
    lines += format_report(report).splitlines()
    settings = resolve_smtp_settings({"host": "smtp.example.org", "security": "starttls"}, {}, {}).settings
    lines.append(hint_line("auth", "535 authentication failed", settings))
    lines += [kinds.title("invitation"), kinds.title("reminder"), status_label("deferred"), status_label("gone")]
    lines += blocked_text("unknown", "lgp-mailer send")
    lines += [text("lang"), text("kind"), text("status", **{"from": 1, "to": 100, "shown": 300, "total": 300})]
    lines += [table()["col_email"], text("letter_of", n=1, total=5)]
    return lines


ENGLISH = [
    "CONFIG, key 'sender.email': missing key",
    "r.xlsx, sheet 'Lap1', row 3, column 'E-mail', key 'sender.email'",
    "Problems (1):",
    "file    sheet  row  column        value  problem",
    "r.xlsx  Lap1   3    Önkormányzat         missing municipality",
    "",
    "Warnings (1):",
    "file    sheet  row  column  value     problem",
    "r.xlsx  Lap1   4    Név     Kiss Kim  gender unknown: neutral salutation",
    "",
    "Rows: 3 read = 2 recipient(s) + 0 merged into an earlier row + 1 held back by problems.",
    "Recipients: 2 address(es) covering 2 municipality(ies); 1 address(es) or cell(s) held back.",
    "Salutations: 1 female, 0 male, 1 neutral, 0 explicit.",
    "Result: 1 problem(s), 1 warning(s).",
    "to fix: check the user name: [smtp] username in lgp-mailer.toml, or LGP_SMTP_USERNAME in the environment, "
    "or --username; check the password: LGP_SMTP_PASSWORD or LGP_SMTP_PASSWORD_FILE in the environment, "
    "[smtp] password_command, or the keyring (never in lgp-mailer.toml)",
    "invitation",
    "day-before reminder",
    "deferred",
    "gone",
    "went out but no answer came: may or may not have arrived",
    "check the server's log, then lgp-mailer send --resend-unknown  (same Message-ID)",
    "en",
    "Message kind",
    "Rows 1\u2013100, 300 matches (300 letters in all)",
    "E-mail address",
    "Letter 1 of 5",
]

HUNGARIAN = [
    "CONFIG, „sender.email” kulcs: hiányzó kulcs",
    "r.xlsx, „Lap1” munkalap, 3. sor, „E-mail” oszlop, „sender.email” kulcs",
    "Hibák (1):",
    "fájl    munkalap  sor  oszlop        érték  hiba",
    "r.xlsx  Lap1      3    Önkormányzat         hiányzik az önkormányzat",
    "",
    "Figyelmeztetések (1):",
    "fájl    munkalap  sor  oszlop  érték     hiba",
    "r.xlsx  Lap1      4    Név     Kiss Kim  a nem ismeretlen: semleges megszólítás",
    "",
    "Sorok: 3 beolvasva = 2 címzett + 0 egy korábbi sorral összevonva + 1 hiba miatt visszatartva.",
    "Címzettek: 2 e-mail-cím, 2 önkormányzat; 1 cím vagy cella visszatartva.",
    "Megszólítások: 1 női, 0 férfi, 1 semleges, 0 egyedi.",
    "Eredmény: 1 hiba, 1 figyelmeztetés.",
    "teendő: ellenőrizze a felhasználónevet: [smtp] username az lgp-mailer.toml fájlban, vagy LGP_SMTP_USERNAME "
    "a környezeti változók között, vagy --username; ellenőrizze a jelszót: LGP_SMTP_PASSWORD vagy "
    "LGP_SMTP_PASSWORD_FILE környezeti változó, [smtp] password_command vagy a kulcstartó "
    "(az lgp-mailer.toml fájlba soha ne írja)",
    "meghívó",
    "előző napi emlékeztető",
    "elhalasztva",
    "gone",
    "a levél elment, de válasz nem érkezett rá: lehet, hogy megérkezett, lehet, hogy nem",
    "nézze meg a kiszolgáló naplóját, majd: lgp-mailer send --resend-unknown  (ugyanazzal a Message-ID-val)",
    "hu",
    "Levéltípus",
    "1\u2013100. sor, 300 találat (összesen 300 levél)",
    "E-mail-cím",
    "1. levél (összesen 5)",
]


def test_core_messages_check_table_hints_and_gallery_labels_in_english(tmp_path):
    assert i18n.current_language() == "en"
    assert core_lines(tmp_path) == ENGLISH


def test_the_same_in_hungarian_and_back_to_english_after(tmp_path):
    with hungarian(tmp_path / "locale"):
        assert core_lines(tmp_path) == HUNGARIAN
    assert i18n.current_language() == "en"
    assert core_lines(tmp_path) == ENGLISH  # nothing of the Hungarian run sticks


def test_the_kinds_exports_stay_hungarian_in_either_language(tmp_path):
    with hungarian(tmp_path / "locale"):
        assert [kinds.label(name) for name in kinds.names()][:2] == ["meghívó", "emlékeztető"]
    assert [kinds.label(name) for name in kinds.names()][:2] == ["meghívó", "emlékeztető"]


if __name__ == "__main__":  # pragma: no cover - lists the findings while marking strings
    print("\n".join(scan()))


def test_a_place_name_guess_is_quoted_the_hungarian_way(tmp_path):
    """The KSH guess for an unlisted place: „Újfehértó” in Hungarian, never ASCII quotes."""
    rows = [HEADER, ["Szabolcs-Szatmár-Bereg", "Újfehértó-próba", "Kiss Anna", "jegyző", "nő", "j@ujf.example"]]
    sheet = write_xlsx(tmp_path / "r.xlsx", {"Lap1": rows})
    english = [f.problem for f in check_file(sheet).findings]
    assert "not in the KSH list of settlements; did you mean 'Újfehértó'?" in english
    with hungarian(tmp_path / "locale"):
        found = [f.problem for f in check_file(sheet).findings]
    assert "nem szerepel a KSH helységnévtárában; talán „Újfehértó”?" in found
