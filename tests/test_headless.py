"""The kernel command of a headless run (``billing run``): ipykernel without its debugger when the
kernel runs in this Python; any other kernel command as the kernel spec gives it. (That kernel
runs the notebook in every ``billing run`` of tests/test_billing_run_command.py and
tests/test_bad_inputs_run.py.) And the HTML report's warm-up while the kernel runs: the same
report after it as without it, and no error of its own."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from billing_lib import headless
from billing_lib.errors import RunError
from billing_lib.headless import HEADLESS_KERNEL, kernel_command
from billing_lib.headless_ipykernel import HeadlessNoise

SPEC = [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]


def test_the_ipykernel_of_this_python_starts_without_its_debugger():
    assert kernel_command(SPEC) == [
        sys.executable,
        "-Xfrozen_modules=off",
        "-m",
        "billing_lib.headless_ipykernel",
        "-f",
        "/tmp/k.json",
    ]
    assert HEADLESS_KERNEL == "billing_lib.headless_ipykernel"


def test_a_kernel_of_another_python_or_launcher_is_started_as_its_spec_says():
    other_python = ["/opt/other/bin/python", *SPEC[1:]]
    other_launcher = [sys.executable, "-m", "my_kernel", "-f", "/tmp/k.json"]
    for cmd in (other_python, other_launcher, []):
        assert kernel_command(cmd) == cmd


def test_the_headless_kernel_drops_only_its_transport_warning_and_shutdown_interrupt():
    # a good run printed these on stderr; the interrupt is jupyter_client's, before its shutdown
    noise = HeadlessNoise()

    def kept(message: str, level: int = logging.WARNING) -> bool:
        return noise.filter(logging.LogRecord("IPKernelApp", level, "", 0, message, None, None))

    assert not kept("Kernel is running over TCP without encryption. All communication ...")
    assert not kept("KeyboardInterrupt caught in kernel.", logging.ERROR)
    assert not kept("KeyboardInterrupt caught in kernel", logging.ERROR)
    assert kept("Exception in message handler:", logging.ERROR)
    assert kept("Kernel is running over TCP")  # not the whole warning: kept


#: In a fresh process: the report of the notebook argv[1] rendered cold (before anything of
#: nbconvert is imported), then after the warm-up, to argv[1] with .cold.html and .html.
RENDER_TWICE = """
import sys
from pathlib import Path
from billing_lib.headless import report_warmed, write_html_report
path = Path(sys.argv[1])
assert "nbconvert" not in sys.modules
write_html_report(path).rename(path.with_suffix(".cold.html"))
warm = report_warmed()
warm.join()
write_html_report(path)
"""

#: A plotly figure's random div id (``plotly.io.to_html`` draws a new one per render).
PLOTLY_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.slow  # renders the report twice in a process of its own
def test_the_report_after_the_warm_up_is_the_report_rendered_cold(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    chart = nbformat.v4.new_output(
        "display_data",
        data={
            headless.PLOTLY_MIME: {"data": [{"type": "bar", "x": ["aws"], "y": [1]}], "layout": {}},
            "text/plain": ["Figure"],
        },
    )
    table = nbformat.v4.new_output(
        "execute_result", data={"text/html": "<table><tr><td>EUR 1.00</td></tr></table>"}
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Billing run\n\nThe month's **invoices**."),
        nbformat.v4.new_code_cell("charts.margin_bars(summary)", outputs=[chart]),
        nbformat.v4.new_code_cell("display_money(totals)", outputs=[table]),
    ]
    path = tmp_path / "billing_run.ipynb"
    nbformat.write(nb, path)
    subprocess.run([sys.executable, "-c", RENDER_TWICE, str(path)], check=True, timeout=120)
    cold = path.with_suffix(".cold.html").read_text(encoding="utf-8")
    warm = path.with_suffix(".html").read_text(encoding="utf-8")
    assert "Plotly.newPlot" in warm and "EUR 1.00" in warm and "invoices" in warm
    assert PLOTLY_ID.sub("ID", warm) == PLOTLY_ID.sub("ID", cold)


def test_a_warm_up_that_fails_raises_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "nbconvert", None)  # import nbconvert: ImportError
    warm = headless.report_warmed()
    warm.join(timeout=60)
    assert not warm.is_alive()
    with pytest.raises(ImportError):
        headless.write_html_report(Path("never-read.ipynb"))  # the report raises it itself


def test_a_run_started_in_another_copy_of_the_project_is_refused(tmp_path, monkeypatch, capsys):
    """``billing run`` started in the folder of another copy of the project (an older checkout,
    a colleague's clone) ran its notebook kernel there, and the kernel imported that copy's
    billing_lib (the folder first on its path) while the command used its own: invoices of one
    version, publishing and the register of another, with nothing said. Refused before the
    outputs folder is made, naming both copies."""
    from billing_lib import cli
    from billing_lib.headless import check_kernel_package
    from tests.notebook_project import PERIOD, REPO

    other = tmp_path / "other-checkout"
    (other / "parameters").mkdir(parents=True)
    (other / "billing_lib").mkdir()
    (other / "billing_lib" / "__init__.py").write_text("", encoding="utf-8")
    ours = Path(headless.__file__).resolve().parent
    check_kernel_package(REPO)  # this project's own copy, or
    check_kernel_package(tmp_path)  # a folder without one: the installed package is imported
    with pytest.raises(RunError) as err:
        check_kernel_package(other)
    assert str(err.value) == (
        f"{other}: the notebook kernel of billing run starts in this project folder and would "
        f"import its billing_lib ({other / 'billing_lib'}), another copy than this billing "
        f"command's ({ours}); run billing from its own project folder ({ours.parent}) or from a "
        "folder outside any copy of the project"
    )
    monkeypatch.chdir(other)
    reports, params = REPO / "samples" / PERIOD / "reports", REPO / "parameters"
    argv = ["run", "--period", PERIOD, "--reports", str(reports),
            "--parameters", str(params), "--output", str(tmp_path / "out")]  # fmt: skip
    assert cli.main(argv) == 2
    assert "another copy than this billing command's" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
