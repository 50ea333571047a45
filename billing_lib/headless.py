"""``billing run``: the billing-run notebook executed headless through papermill, its HTML report
(charts drawn with the bundled plotly.js), the run folder published, and the text the command prints."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing_lib.errors import RunError
from billing_lib.publishing import MANIFEST, checksums, discard, new_staging, publish
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
) -> Path:
    """Run ``billing_run.ipynb`` through papermill (what ``billing run`` does) and publish the run
    folder with the executed notebook and its HTML report. Paths are made absolute here so the
    notebook finds them whatever folder the kernel starts in. Returns the published folder.

    The lock of the outputs folder is held here, in the command's process, for the whole run
    (refused at once when another run holds it, or after waiting ``wait`` seconds); what was
    cleaned up from killed runs is passed to ``say``, a line each. The kernel checks the lock
    is this run's and only stages files: publishing and the register are done here."""
    import papermill as pm  # heavy; only for this entry point

    from billing_lib.recovery import open_output

    output = Path(output).resolve()
    params = check_parameters(
        period, Path(reports).resolve(), Path(parameters).resolve(), output, finalise, issue_date
    )
    lock, cleaned = open_output(output, command, wait)
    for line in cleaned:
        if say is not None:
            say(f"cleaned up: {line}")
    staging = None
    try:
        staging = new_staging(output, params.period)
        lock.note(staging=staging.name)
        executed = staging / NOTEBOOK_NAME
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
            },
            progress_bar=progress_bar,
            kernel_name=kernel_name,
            cwd=str(project_dir()),
        )
        write_html_report(executed)
        add_report_to_manifest(staging)
        return publish(staging, output, params.period, lock)
    except pm.PapermillExecutionError as exc:
        kept = output / f".failed-{params.period}.ipynb"
        if executed.exists():
            shutil.copyfile(executed, kept)
        raise RunError(
            f"the billing run for {params.period} stopped in cell [{exc.exec_count}]: "
            f"{exc.ename}: {exc.evalue}\n(nothing was published; the executed notebook is "
            f"kept as {kept})"
        ) from None
    finally:
        discard(staging)
        lock.release()


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
    """Record the executed notebook and its HTML (written after the notebook's own manifest step)."""
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
    same figures the notebook shows; amounts as stored, unrounded control totals)."""
    m = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    lines = ["control totals per vendor report (read = imported):"]
    for c in m["control_totals"]:
        mark = "ok" if c["balanced"] else "DIFFERENT"
        lines.append(
            f"  {c['file']} [{c['format']}] {c['currency']}: {c['rows_read']} rows, "
            f"cost {Decimal(c['cost_read']).normalize():f} = {Decimal(c['cost_imported']).normalize():f} {mark}"
        )
    if m["unmapped"]:
        lines.append("unmapped accounts (on no invoice; map them in accounts.csv):")
        for u in m["unmapped"]:
            lines.append(
                f"  {u['vendor']} {u['account_id']} ({u['account_name'] or '-'}): {u['lines']} lines, "
                f"{u['currency']} {Decimal(u['cost']).normalize():f}"
            )
            if u.get("add_to_accounts_csv"):
                lines.append(
                    f"      add to accounts.csv: {u['add_to_accounts_csv']}   [{u['would_match']}]"
                )
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
