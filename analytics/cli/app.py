"""The `llmstats` command line, built in one place: the typer app, its command groups and
every command, registered explicitly from the modules beside this one.

Each command parses its options, calls one library function and sends the rows through
`render()`. Heavy modules (duckdb, pyarrow) are imported inside commands so that
`llmstats --help` stays fast; litellm is never imported here. The project's own errors
(every one derives from LlmstatsError: plugin/errors.py) become a one-line message and an
exit code in exactly one place: `_Group.invoke`.
"""

# No `from __future__ import annotations` in the command modules: typer resolves every
# command's annotations at each start, and string annotations cost a compile and an eval
# each (~40 ms a run, a tenth of a rollup-backed report).
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from ..errors import LlmstatsError
from . import data, demo, fleet, maintenance, pricing, report, rollups, serve

# The click classes typer parses with: recent typer vendors click (typer._click), older
# typer uses click itself; typer.BadParameter derives from the UsageError in use.
_UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_NoArgsIsHelp: Any = getattr(sys.modules[_UsageError.__module__], "NoArgsIsHelpError", ())


def _fail(message: str, exit_code: int) -> typer.Exit:
    """Print `llmstats: message` (one line, nothing in it a terminal would act on)."""
    from .render import terminal_text

    typer.echo(f"llmstats: {terminal_text(message)}", err=True)
    return typer.Exit(exit_code)


def _usage(exc: Any) -> typer.Exit:
    """click's usage error (unknown option or command, missing argument, bad value) as
    one line and exit 2, like every other bad input; it names the command's help."""
    message = " ".join(exc.format_message().split())
    message = message[:1].lower() + message[1:]
    message = message.rstrip(".")
    if exc.ctx is not None:  # click knows the command (not for every kind of error)
        message += f" (see '{exc.ctx.command_path} --help')"
    return _fail(message, 2)


class _Group(TyperGroup):
    """The single place where LlmstatsError, a usage error of any command (and an I/O error
    of the data dir) turns into `llmstats: message` + exit code."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _NoArgsIsHelp:
            raise  # `llmstats` alone prints the help
        except _UsageError as exc:  # an option of `llmstats` itself
            raise _usage(exc) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LlmstatsError as exc:
            raise _fail(str(exc), exc.exit_code) from None
        except _NoArgsIsHelp:
            raise  # `llmstats pricing` alone prints the group's help
        except _UsageError as exc:  # parsing a command's options and arguments
            raise _usage(exc) from None
        except OSError as exc:  # a data dir that cannot be read or written (disk, bucket)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _fail(first, 1) from None


app = typer.Typer(
    cls=_Group,
    help="Reports on the LLM calls llmstats captured: cost, savings, tokens, latency, errors.\n\n"
    "Example: llmstats report --since 7d --by team",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
report_app = typer.Typer(
    help="Cost, tokens, savings, error rate and latency for a window, grouped as you like.\n\n"
    "Examples: llmstats report --since 7d; llmstats report --by model,day --tz Europe/Berlin; "
    "llmstats report savings --by team; llmstats report --reconcile",
    invoke_without_command=True,
    rich_markup_mode=None,
)
pricing_app = typer.Typer(
    help="The pricing catalog (from LiteLLM's price map) and your overrides.\n\n"
    "Example: llmstats pricing show gpt-4o-mini",
    no_args_is_help=True,
    rich_markup_mode=None,
)
audit_app = typer.Typer(
    help="The tamper-evident audit log of maintenance, exports and pricing changes.\n\n"
    "Example: llmstats audit verify",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# report, and its sub-reports
report_app.callback()(report.report)
for _name, _command in report.SUB_REPORTS.items():
    report_app.command(_name)(_command)
app.add_typer(report_app, name="report")

# reading the dataset as it is
app.command()(data.trace)
app.command()(data.status)
app.command()(data.export)
app.command()(data.sql)

# pricing
pricing_app.command("update")(pricing.pricing_update)
pricing_app.command("show")(pricing.pricing_show)
pricing_app.command("set")(pricing.pricing_set)
pricing_app.command("unset")(pricing.pricing_unset)
app.add_typer(pricing_app, name="pricing")

# the demo, and the live dashboard
app.command()(demo.demo)
app.command()(serve.serve)

# maintenance: retention, compaction, rollups, the audit log, fleets
app.command()(maintenance.prune)
app.command()(maintenance.purge)
app.command()(maintenance.recover)
app.command()(maintenance.compact)
app.command()(rollups.rollup)
audit_app.command("show")(maintenance.audit_show)
audit_app.command("verify")(maintenance.audit_verify)
app.add_typer(audit_app, name="audit")
app.command()(fleet.ddl)


def main() -> None:
    """Console entry point (`llmstats`)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    app()
