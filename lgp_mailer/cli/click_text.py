"""Typer's and Click's own words ("Usage:", "Options", "Error: …") in the interface language.

Typer marks a few of its strings with ``gettext`` ("Options", "Arguments", "Commands",
"default: …", "required", "No such command …"): ``i18n.activate`` serves those through the
process-wide gettext domain, and ``TYPER_STRINGS`` below lists them so that they are
extracted into our catalog.  The Click that Typer vendors (``typer._click``) marks nothing,
so the rest is done here, through Click's own extension points and nothing private:

* ``Context.formatter_class`` (Click's documented hook) → :class:`TranslatedFormatter`:
  the "Usage: " prefix and the ``--help`` option's text;
* :func:`translate_commands` gives every command and group a context class using it;
* :func:`show_click_error` replaces ``ClickException.show``: ``main()`` runs the app with
  ``standalone_mode=False`` and prints usage errors itself, translating Click's message
  with ``CLICK_MESSAGES`` (a message Click words differently is shown as Click wrote it).

tests/test_i18n_cli.py asserts the Hungarian ``--help`` and error lines exactly, so a Typer
upgrade that moves any of this fails there, not in front of the office.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import IO, Any

import typer
from typer._click.formatting import HelpFormatter  # the class Context.formatter_class names
from typer.core import TyperCommand, TyperGroup

from lgp_mailer.i18n import N_, _
from lgp_mailer.quoting import quoted

# Typer's gettext-marked strings (typer/core.py), listed so that extraction keeps them in the catalog.
TYPER_STRINGS = (
    N_("Options"),
    N_("Arguments"),
    N_("Commands"),
    N_("default: {default}"),
    N_("required"),
    N_("env var: {var}"),
    N_("(dynamic)"),
    N_("Aborted!"),
    N_("Missing command."),
    N_("No such command {name!r}."),
)

# Click's English error messages (typer._click), each with its marked template: the msgid is
# Click's own wording, so English output is exactly Click's.
CLICK_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), template)
    for pattern, template in (
        (
            r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.*)\)",
            N_("No such option: {name} (Possible options: {options})"),
        ),
        (r"No such option: (?P<name>\S+)", N_("No such option: {name}")),
        (r"Option (?P<name>'[^']+') requires an argument\.", N_("Option {name} requires an argument.")),
        (r"Option (?P<name>'[^']+') does not take a value\.", N_("Option {name} does not take a value.")),
        (r"Missing option (?P<name>.+)\.", N_("Missing option {name}.")),
        (r"Missing argument (?P<name>.+)\.", N_("Missing argument {name}.")),
        (r"Invalid value for (?P<name>[^:]+): (?P<reason>.*)", N_("Invalid value for {name}: {reason}")),
        (
            r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)",  # Click: "arguments"; Typer: "argument(s)"
            N_("Got unexpected extra argument(s) ({args})"),
        ),
        (r"'(?P<value>.*)' is not a valid integer\.", N_("'{value}' is not a valid integer.")),
        (r"'(?P<value>.*)' is not a valid float\.", N_("'{value}' is not a valid float.")),
        (r"(?P<value>.+) is not in the range (?P<range>.+)\.", N_("{value} is not in the range {range}.")),
        # Typer 0.29+ checks option values with pydantic: its wording for a range and a number.
        (r"Input should be greater than or equal to (?P<n>\S+)", N_("Input should be greater than or equal to {n}")),
        (r"Input should be less than or equal to (?P<n>\S+)", N_("Input should be less than or equal to {n}")),
        (
            r"Input should be a valid integer, unable to parse string as an integer",
            N_("Input should be a valid integer, unable to parse string as an integer"),
        ),
    )
)  # fmt: skip
# The help of the options Click and Typer add themselves (--help; --install-completion, --show-completion).
_OWN_OPTION_HELP = {
    N_("Show this message and exit."),
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
}


def translate_click_message(message: str) -> str:
    """Click's English error message in the interface language (unchanged when not known)."""
    for pattern, template in CLICK_MESSAGES:
        found = pattern.fullmatch(message)
        if found:
            groups = {
                k: translate_click_message(v) if k == "reason" else _requoted(v) if k == "name" else v
                for k, v in found.groupdict().items()
            }
            return _(template).format(**groups)
    return message


def _requoted(name: str) -> str:
    """Click quotes option names as 'this' ("'--connections' / '-c'"): the interface language's quotes."""
    return re.sub(r"'([^']*)'", lambda found: quoted(found.group(1)), name)


class TranslatedFormatter(HelpFormatter):
    """Click's help formatter, with its fixed words in the interface language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(term, _(text) if text in _OWN_OPTION_HELP else text) for term, text in rows]
        super().write_dl(rows, col_max, col_spacing)


class TranslatedContext(typer.Context):
    formatter_class = TranslatedFormatter


# The usage line's placeholders ("Usage: lgp-mailer [OPTIONS] COMMAND [ARGS]...").
_USAGE_PIECES = {"[OPTIONS]": N_("[OPTIONS]"), "COMMAND [ARGS]...": N_("COMMAND [ARGS]...")}


def _usage(pieces: list[str]) -> list[str]:
    return [_(_USAGE_PIECES[p]) if p in _USAGE_PIECES else p for p in pieces]


class TranslatedCommand(TyperCommand):
    context_class = TranslatedContext

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage(super().collect_usage_pieces(ctx))


class TranslatedGroup(TyperGroup):
    context_class = TranslatedContext

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage(super().collect_usage_pieces(ctx))


def translate_commands(group: typer.Typer) -> None:
    """Give every command and group of ``group`` the translated context and its docstring's
    translation as help (lgp_mailer/i18n_extract.py extracts the docstrings); once, after registration."""
    group.info.cls = TranslatedGroup
    for command in group.registered_commands:
        if command.cls in (None, TyperCommand):  # Typer's default: ours only adds the translated context
            command.cls = TranslatedCommand
        doc = inspect.getdoc(command.callback) if command.callback is not None else None
        if command.help is None and doc:
            command.help = _(doc)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            translate_commands(sub.typer_instance)


def show_click_error(error: typer.TyperException, file: IO[str] | None = None) -> None:
    """What ``ClickException.show`` prints, in the interface language."""
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    out = file if file is not None else sys.stderr
    if isinstance(error, NoArgsIsHelpError):  # the help itself, for a bare `lgp-mailer`
        print(error.format_message(), file=out)
        return
    if isinstance(error, UsageError) and error.ctx is not None:
        hint = ""
        if error.ctx.command.get_help_option(error.ctx) is not None:
            command, option = error.ctx.command_path, error.ctx.help_option_names[0]
            hint = _("Try '{command} {option}' for help.").format(command=command, option=option) + "\n"
        print(f"{error.ctx.get_usage()}\n{hint}", file=out)
    message = translate_click_message(error.format_message())
    print(_("Error: {message}").format(message=message), file=out)
