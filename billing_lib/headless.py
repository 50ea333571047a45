"""``billing run``: the billing-run notebook executed headless through papermill, its HTML report
(charts drawn with the bundled plotly.js), the run folder published, and the text the command
prints."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing_lib.errors import RunError
from billing_lib.publishing import MANIFEST, checksums, discard, new_staging, publish, writing
from billing_lib.run_files import atomic_target
from billing_lib.run_parameters import check_parameters, project_dir

NOTEBOOK_NAME = "billing_run.ipynb"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def notebook_path(name: str = NOTEBOOK_NAME) -> Path:
    """The notebook in the repository's ``notebooks/`` (a checkout, an editable install) or, for
    an installed package, the copy in ``billing_lib/notebooks/``."""
    for candidate in (
        Path(__file__).resolve().parents[1] / "notebooks" / name,
        Path(__file__).resolve().parent / "notebooks" / name,
    ):
        if candidate.is_file():
            return candidate
    raise RunError(
        f"{name}: notebook not found in the repository's notebooks/ nor in billing_lib/notebooks/"
    )


def execute(
    period: str,
    reports: Path,
    parameters: Path,
    output: Path,
    finalise: bool = False,
    issue_date: str = "",
    progress_bar: bool = True,
    kernel_name: str | None = None,
    confirm_jumps: str = "",
    wait: float = 0,
    say: Callable[[str], None] | None = None,
    command: str | None = None,
    currency: str = "",
) -> Path:
    """Run ``billing_run.ipynb`` through papermill (what ``billing run`` does) and publish the run
    folder with the executed notebook and its HTML report. Paths are made absolute here so the
    notebook finds them whatever folder the kernel starts in. Returns the published folder.

    The lock of the outputs folder is held here, in the command's process, for the whole run
    (refused at once when another run holds it, or after waiting ``wait`` seconds); what was
    cleaned up from killed runs is passed to ``say``, a line each. The kernel checks the lock
    is this run's and only stages files: publishing and the register are done here.
    ``currency``: the billing currency of FOCUS reports without a BillingCurrency column."""
    import papermill as pm  # heavy; only for this entry point
    from nbclient.exceptions import DeadKernelError

    from billing_lib.recovery import open_output
    from billing_lib.run_state import check_parameter_files

    output = Path(output).resolve()
    params = check_parameters(
        period,
        Path(reports).resolve(),
        Path(parameters).resolve(),
        output,
        finalise,
        issue_date,
        currency,
    )
    # before the outputs folder is made or locked: found by the notebook's cell [4], an empty or
    # wrong folder left the lock file and a .failed-<period>.ipynb behind
    check_kernel_package(project_dir())
    finished = check_parameter_files(params.parameters)
    lock, cleaned = open_output(output, command, wait)
    _say_cleaned(say, [*finished, *cleaned])
    staging = None
    executed = None
    try:
        staging = new_staging(output, params.period)
        lock.note(staging=staging.name)
        executed = staging / NOTEBOOK_NAME
        manager = _tracked_manager()  # its imports done before the warm-up's begin
        warm = report_warmed()
        with interrupts_raised() as received:
            try:
                with writing(executed):
                    pm.execute_notebook(
                        str(notebook_path()),
                        str(executed),
                        parameters={
                            "period": params.period,
                            "reports": str(params.reports),
                            "parameters": str(params.parameters),
                            "output": str(output),
                            "finalise": params.finalise,
                            "issue_date": params.issue_date.isoformat(),
                            "staging": str(staging),
                            "confirm_jumps": confirm_jumps,
                            "currency": params.currency or "",
                        },
                        progress_bar=progress_bar,
                        kernel_name=kernel_name,
                        cwd=str(project_dir()),
                        kernel_manager_class=manager,
                        # written once at the end (or when a cell fails), not twice a cell: 65
                        # writes, each validated by nbformat, were about 1 CPU-second a run
                        request_save_on_cell_execute=False,
                        engine_name=_keeping_engine(),
                    )
                warm.join()  # one render at a time, its imports complete
                with writing(executed.with_suffix(".html")):
                    write_html_report(executed)
                with writing(staging / MANIFEST):
                    add_report_to_manifest(staging)
                with writing(output / params.period):
                    folder = publish(staging, output, params.period, lock)
                _say_cleaned(say, _discard_failed(output, params.period))
                return folder
            except KeyboardInterrupt:
                end_kernels()
                name = signal.Signals(received[-1]).name if received else "SIGINT"
                raise RunInterrupted(
                    f"the billing run for {params.period} was interrupted ({name}): its notebook "
                    "kernel was ended and nothing was published; an earlier run folder is as it "
                    "was. Run it again when ready.",
                    received[-1] if received else signal.SIGINT,
                ) from None
    except pm.PapermillExecutionError as exc:
        assert executed is not None  # named before the notebook started
        where = _keep_failed(executed, output, params.period)
        raise RunError(
            f"the billing run for {params.period} stopped in cell [{exc.exec_count}]: "
            f"{exc.ename}: {exc.evalue}\n(nothing was published{where})"
        ) from None
    except DeadKernelError as exc:
        where, cell = _keep_dead(exc, output, params.period)
        raise _kernel_died(params.period, cell, where) from None
    except RuntimeError as exc:
        if _died_starting(exc):
            raise _kernel_died(params.period, " before its first cell", "") from None
        if str(exc).startswith("Kernel didn't respond"):
            raise RunError(
                f"the billing run for {params.period} stopped before its first cell: the "
                f"notebook's kernel did not start ({exc}: the machine too busy, or the kernel "
                "stuck as it started)\n(nothing was published). Run it again."
            ) from None
        raise
    finally:
        end_kernels()
        discard(staging)
        lock.release()


def _say_cleaned(say: Callable[[str], None] | None, lines: list[str]) -> None:
    """Each of ``lines`` (what was cleaned up) passed to ``say``, if given."""
    if say is not None:
        for line in lines:
            say(f"cleaned up: {line}")


def _kernel_died(period: str, cell: str, where: str) -> RunError:
    """The error of a run whose notebook kernel's process ended (``cell``: where, ``where``: the
    clause naming the notebook kept, ``_keep_dead``)."""
    return RunError(
        f"the billing run for {period} stopped{cell}: the notebook's kernel died (its "
        "process ended: killed, by the system when memory ran out, or crashed; the system "
        f"log says which)\n(nothing was published{where}). Run it again when the cause is "
        "gone."
    )


def _died_starting(exc: RuntimeError) -> bool:
    """Whether ``exc`` is jupyter_client's word for a kernel whose process ended before it
    answered its first request (killed as it started): not a ``DeadKernelError``, which nbclient
    raises only for a kernel that dies while running a cell."""
    return str(exc).startswith("Kernel died before replying to kernel_info")


def _failed_notebook(output: Path, period: str) -> Path:
    """Where a failed run of ``period`` keeps its executed notebook for the analyst."""
    return output / f".failed-{period}.ipynb"


def _keep_failed(executed: Path, output: Path, period: str) -> str:
    """Copy the executed notebook of a failed run to ``<output>/.failed-<period>.ipynb`` for the
    analyst (its staging folder is removed); the clause saying where, or empty when it could
    not be copied (a full disk or a read-only folder is what stopped the run). In one rename:
    killed while copying, it left half a notebook under that name."""
    kept = _failed_notebook(output, period)
    try:
        with atomic_target(kept) as tmp:
            shutil.copyfile(executed, tmp)
    except OSError:
        return ""
    return f"; the executed notebook is kept as {kept}"


def _discard_failed(output: Path, period: str) -> list[str]:
    """Remove the notebook an earlier failed run of ``period`` kept, once a run of it was
    published: it stayed beside the new run folder, the story of a failure since mended."""
    kept = _failed_notebook(output, period)
    if not kept.is_file():
        return []
    try:
        kept.unlink()
    except OSError as exc:
        return [
            f"{kept.name} cannot be removed ({exc.strerror}): the notebook of an earlier "
            f"failed run of {period}, published since; remove it by hand"
        ]
    return [
        f"removed {kept.name}: the notebook of an earlier failed run of {period}, published since"
    ]


def _keep_dead(exc: BaseException, output: Path, period: str) -> tuple[str, str]:
    """For a run whose kernel died: the notebook as far as it ran (``_keeping_engine``) kept as
    ``<output>/.failed-<period>.ipynb``, and the clauses saying where and in which cell (the
    last one started); empty where unknown or not written."""
    import nbformat

    nb = getattr(exc, "notebook", None)
    if nb is None:
        return "", ""
    counts = [c.get("execution_count") for c in nb.cells if c.get("execution_count")]
    cell = f" in or after cell [{max(counts)}]" if counts else ""
    kept = _failed_notebook(output, period)
    try:
        with atomic_target(kept) as tmp:
            nbformat.write(nb, str(tmp))
    except OSError:
        return "", cell
    return f"; the executed notebook is kept as {kept}", cell


@functools.cache
def _keeping_engine() -> str:
    """papermill's nbclient engine, registered under a name of its own, that hands the notebook
    as far as it ran to a ``DeadKernelError`` (``notebook``): the run saves the notebook only
    at its end (``request_save_on_cell_execute=False``), so a kernel that died (killed when
    memory ran out) left no notebook to read."""
    from nbclient.exceptions import DeadKernelError
    from papermill.engines import NBClientEngine, papermill_engines

    class Keeping(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kw: Any) -> Any:
            try:
                return super().execute_managed_notebook(nb_man, kernel_name, **kw)
            except DeadKernelError as exc:
                exc.notebook = nb_man.nb  # type: ignore[attr-defined]
                raise

    papermill_engines.register("billing-keeping", Keeping)
    return "billing-keeping"


class RunInterrupted(RunError):
    """``billing run`` was stopped by SIGINT or SIGTERM; ``signum`` gives the exit status."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = int(signum)


#: Kernels started by this process that may still run: pid -> process group.
_KERNELS: dict[int, int] = {}


#: The module the kernel of a headless run is started with (ipykernel without its debugger).
HEADLESS_KERNEL = "billing_lib.headless_ipykernel"


def check_kernel_package(project: Path) -> None:
    """RunError when the notebook kernel, started in ``project`` (``project_dir``: its folder
    first on the kernel's path), would import another copy of billing_lib than this command's
    own: an older checkout's notebook steps with this version's publishing and register."""
    theirs = project / "billing_lib"
    ours = Path(__file__).resolve().parent
    if (theirs / "__init__.py").is_file() and theirs.resolve() != ours:
        raise RunError(
            f"{project}: the notebook kernel of billing run starts in this project folder and "
            f"would import its billing_lib ({theirs}), another copy than this billing command's "
            f"({ours}); run billing from its own project folder ({ours.parent}) or from a folder "
            "outside any copy of the project"
        )


def kernel_command(cmd: list[str]) -> list[str]:
    """``cmd`` (a kernel spec's command) with ``-m ipykernel_launcher`` replaced by
    ``-m billing_lib.headless_ipykernel`` when the kernel runs in this Python, which has
    billing_lib; any other kernel command as it is."""
    if not cmd or cmd[0] != sys.executable:
        return cmd
    for i in range(len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] == "ipykernel_launcher":
            return [*cmd[: i + 1], HEADLESS_KERNEL, *cmd[i + 2 :]]
    return cmd


@functools.cache
def _tracked_manager() -> type:
    """A kernel manager class (jupyter_client is imported only when a run starts)."""
    from jupyter_client.manager import AsyncKernelManager

    class Tracked(AsyncKernelManager):
        """Starts the kernel without its debugger (``kernel_command``) and remembers each kernel
        it launches, so an interrupted run can end it (papermill's own clean-up does not run when
        the command is stopped by a signal)."""

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return kernel_command(super().format_kernel_cmd(extra_arguments))

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            pid = getattr(self.provisioner, "pid", None)
            if pid:
                _KERNELS[int(pid)] = int(getattr(self.provisioner, "pgid", None) or pid)

    return Tracked


def end_kernels(wait: float = 5.0) -> None:
    """End every kernel this process started that still runs: SIGKILL to its process group (the
    kernel starts its own session, so whatever it started ends too; it holds nothing to save,
    the run's files are in the staging folder), then reaped, waiting at most ``wait`` seconds."""
    for pid, group in list(_KERNELS.items()):
        _KERNELS.pop(pid, None)
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            continue
        except PermissionError:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + wait
        while not _reaped(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # not our child (or already reaped)
    return done == pid


@contextmanager
def interrupts_raised() -> Iterator[list[int]]:
    """SIGTERM (as SIGINT already does) raises KeyboardInterrupt in the block, so the run's
    clean-up (kernel ended, staging folder removed) happens; the signals received are listed."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        # the kernel is ended first, at once: left to papermill's own clean-up it is asked to shut
        # down mid-reply and prints its socket errors; the tasks that then find it dead are ours
        # to drop, so asyncio is not to report them
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        end_kernels(wait=0)
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def report_warmed() -> threading.Thread:
    """A started thread that readies this process for ``write_html_report`` while the notebook's
    kernel runs and the command's process only waits for it: it imports nbconvert and plotly.io
    and renders an empty chart and a notebook of two cells once. The first render in a process
    compiles nbconvert's templates, BeautifulSoup's CSS selectors and pygments' lexer (0.7-1.1 s
    of a sample month's 5 s; benchmarks/README.md); the report itself then takes about 0.5 s.
    Join it before rendering. A failure here changes nothing: the report raises its own errors."""
    thread = threading.Thread(target=_warm_report, name="report-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_report() -> None:
    """Render a small notebook with a chart to HTML and discard it (``report_warmed``)."""
    try:
        import nbformat
        import plotly.io as pio
        from nbconvert import HTMLExporter

        nb = nbformat.v4.new_notebook()
        nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
        nb.cells = [nbformat.v4.new_markdown_cell("# warm-up"), nbformat.v4.new_code_cell("1")]
        pio.to_html({"data": [], "layout": {}}, include_plotlyjs=False, full_html=False)
        HTMLExporter().from_notebook_node(nb)
    except Exception:  # only a head start: the report raises its own errors
        pass


def write_html_report(executed: Path) -> Path:
    """The executed notebook as a self-contained HTML page next to it (code cells shown, so an
    auditor sees what ran; the charts drawn with the plotly.js bundled in the plotly package, once,
    so the page opens offline)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    with_charts(nb)
    body, _ = HTMLExporter().from_notebook_node(nb)
    target = executed.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


def with_charts(nb: Any) -> Any:
    """Give every plotly output of ``nb`` an HTML rendering (nbconvert cannot draw the plotly JSON
    the notebook stores); plotly.js is embedded with the first chart only."""
    import plotly.io as pio

    first = True
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            fig = out.get("data", {}).get(PLOTLY_MIME)
            if fig is None:
                continue
            out["data"]["text/html"] = pio.to_html(
                fig,
                include_plotlyjs=first,
                full_html=False,
                default_width="100%",
                default_height=480,
            )
            first = False
    return nb


def add_report_to_manifest(staging: Path) -> None:
    """Record the executed notebook and its HTML (written after the notebook's own manifest
    step)."""
    path = Path(staging) / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    files = [
        p for p in (Path(staging) / NOTEBOOK_NAME, Path(staging) / "billing_run.html") if p.exists()
    ]
    manifest["report"] = checksums(files, Path(staging))
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def run_report(folder: Path) -> str:
    """What a headless run prints when it has published: the control totals per vendor report,
    the unmapped accounts, the invoices and the ledger balance, read back from the manifest (the
    same figures the notebook shows; amounts as stored, unrounded control totals), the rating's
    warnings (lines outside the period, ...) and the review of exceptions (which lists the rules
    that matched nothing)."""
    m = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    lines = ["control totals per vendor report (read = imported):"]
    for c in m["control_totals"]:
        mark = "ok" if c["balanced"] else "DIFFERENT"
        lines.append(
            f"  {c['file']} [{c['format']}] {c['currency']}: {c['rows_read']} rows, "
            f"cost {Decimal(c['cost_read']).normalize():f} = "
            f"{Decimal(c['cost_imported']).normalize():f} {mark}"
        )
    if m["unmapped"]:
        lines.append("unmapped accounts (on no invoice; map them in accounts.csv):")
        for u in m["unmapped"]:
            lines.append(
                f"  {u['vendor']} {u['account_id']} ({u['account_name'] or '-'}): {u['lines']} "
                f"lines, {u['currency']} {Decimal(u['cost']).normalize():f}"
            )
            if u.get("add_to_accounts_csv"):
                lines.append(
                    f"      add to accounts.csv: {u['add_to_accounts_csv']}   [{u['would_match']}]"
                )
            elif u.get("would_match"):
                lines.append(f"      {u['would_match']}")
    # the review below lists the rules that matched nothing; the other warnings are printed here
    reviewed = {f"{f['subject']}: {f['finding']}" for f in m.get("review", [])}
    warnings = [w for w in m.get("warnings", []) if w not in reviewed]
    if warnings:
        lines.append(f"warnings ({len(warnings)}; the run went through, look at them):")
        lines += [f"  {w}" for w in warnings]
    lines.append(f"{len(m['invoices'])} invoices (net + VAT = gross):")
    lines += [
        f"  {i['invoice_number']} {i['customer_id']} {i.get('customer_name') or ''}".rstrip()
        + f" {i['currency']} {i['net']} + {i['vat']} = {i['gross']}"
        for i in m["invoices"]
    ]
    lines.append(
        "ledger: "
        + "; ".join(
            f"{b['currency']} debit {b['debit']} = credit {b['credit']}"
            for b in m["ledger_balance"]
        )
    )
    lines += review_report(m)
    return "\n".join(lines)


def review_report(manifest: dict) -> list[str]:
    """The review of exceptions as printed: one line per finding, at most five lines behind it."""
    found = manifest.get("review", [])
    if not found:
        return ["needs a human look: nothing"]
    out = [f"needs a human look ({len(found)}; information only, the invoices stay as rated):"]
    for f in found:
        out.append(f"  [{f['check']}] {f['subject']}: {f['finding']}")
        behind = f["lines"][:5] + (
            [f"... and {len(f['lines']) - 5} more"] if len(f["lines"]) > 5 else []
        )
        if behind:
            out.append(f"      {'; '.join(behind)}")
    return out
