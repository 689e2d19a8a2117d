"""`llmstats demo`: the real LiteLLM proxy in front of the fake provider, then the reports."""

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ..errors import LlmstatsError
from .data_dir import open_data, query_from
from .options import FormatOption, RawCsvOption
from .progress import Advance, progress_bar
from .render import Format
from .report import show


def demo(
    *,
    calls: Annotated[int, typer.Option(min=10, max=5000, help="How many calls to send.")] = 300,
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep",
            help="Leave the demo's data dir here (default: a temporary dir, removed afterwards).",
        ),
    ] = None,
    fmt: FormatOption = Format.table,
    raw_csv: RawCsvOption = False,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Then serve the live dashboard over the demo's data on "
                     "127.0.0.1 (llmstats serve) until Ctrl-C."),
    ] = False,
    port: Annotated[int, typer.Option(min=0, max=65535, help="The dashboard's port (--serve).")] = 8766,
) -> None:
    """Start the real LiteLLM proxy with the llmstats callback in front of a built-in fake
    provider on 127.0.0.1, send a mixed workload (several models, teams, keys and tags;
    streaming; prompt-cache hits; a proxy cache hit; errors, retries and a fallback), then
    print the reports. Needs no API key and no network.

    Example: llmstats demo --calls 500 --keep ./demo-data --serve
    """
    from ..demo.litellm_proxy import ProxyError
    from ..demo.workload import run_demo

    if shutil.which("litellm") is None and not Path(sys.executable).with_name("litellm").exists():
        raise LlmstatsError("the LiteLLM proxy is not installed: pip install 'llmstats[proxy]'")
    workdir = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix="llmstats-demo-"))
    if keep and (workdir / "data").exists():
        raise LlmstatsError(f"{workdir / 'data'} exists already: pick another --keep dir")
    workdir.mkdir(parents=True, exist_ok=True)
    restore = _stop_on_sigterm()
    try:
        with progress_bar("Starting the proxy and sending calls", total=calls) as (advance, _):
            try:
                result = run_demo(workdir, calls=calls, progress=_done_callback(advance))
            except ProxyError as exc:
                raise LlmstatsError(str(exc)) from None
        typer.echo(
            f"Sent {result.sent} calls through the LiteLLM proxy in {result.seconds:.1f} s "
            f"({result.answered} answered, {result.failed} errors by design). Events: {result.data_dir}",
            err=True,
        )
        dataset = open_data(str(result.data_dir))
        from ..report.reports import savings_report, usage_report

        for build, by in ((usage_report, None), (usage_report, "team"), (savings_report, None)):
            show(build(dataset.con, query_from(None, None, None, by, None, None)), fmt, None, raw_csv=raw_csv)
        dataset.con.close()
        if serve:
            from .serve import serve as run_dashboard

            run_dashboard(port=port, data_dir=str(result.data_dir))
        elif keep:
            typer.echo(f"The live dashboard over these events: llmstats serve --data-dir "
                       f"{result.data_dir}", err=True)
        else:
            typer.echo("The live dashboard over these events: llmstats demo --serve", err=True)
    finally:
        restore()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _stop_on_sigterm() -> Callable[[], None]:
    """End on SIGTERM (kill, docker stop, systemd) as on Ctrl-C: through the `finally`
    that stops the proxy and removes the temporary data dir. SIGTERM's default action ends
    the process on the spot, and with --serve it is what uvicorn raises again after its
    graceful shutdown. Returns what puts the previous handler back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set handlers (and gets signals)

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # the status a SIGTERM death would have had

    previous = signal.signal(signal.SIGTERM, stop)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def _done_callback(advance: Advance | None) -> Callable[[int, int], None] | None:
    """run_demo reports (calls done, total); the bar counts how many more are done."""
    if advance is None:
        return None
    done = [0]

    def progress(calls_done: int, _total: int) -> None:
        advance(calls_done - done[0])
        done[0] = calls_done

    return progress
