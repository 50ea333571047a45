"""A real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by Playwright, runs every cell
of margin_analysis.ipynb and shows the widgets and a plotly chart.

Never downloads a browser: without /usr/bin/chromium (Debian's ``chromium`` package) the test is
skipped with that reason. The screenshot goes to test-artifacts/; set UPDATE_SCREENSHOT=1 to also
refresh docs/img/margin_analysis.png (the README's picture), which is otherwise left alone so a test
run does not change committed files.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.notebook_project import REPO, copy_project

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
NOTEBOOK = "margin_analysis.ipynb"
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium "
        "(apt-get install chromium); no browser is ever downloaded",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path: Path, sample_outputs: Path):
    """JupyterLab serving a temp copy of the project with the sample month's run published (a
    copy of the session's)."""
    project = copy_project(tmp_path / "project")
    shutil.copytree(sample_outputs, project / "outputs")
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    log = open(tmp_path / "lab.log", "w")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={project}",
            "--allow-root",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=project,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/status?token={token}", timeout=1
                )
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:]
                    )
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", token
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_margin_analysis_runs_in_jupyterlab_and_shows_widgets_and_charts(lab):
    from playwright.sync_api import sync_playwright

    base, token = lab
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "margin_analysis.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/lab/tree/notebooks/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook", timeout=60_000)
            page.wait_for_selector("text=| Idle", timeout=60_000)  # kernel started and connected
            page.click("text=Run")
            page.click("text=Run All Cells")
            page.wait_for_selector(".jp-OutputArea-output .js-plotly-plot", timeout=60_000)
            page.wait_for_selector(".jupyter-widgets select", timeout=60_000)  # the filter lists
            page.wait_for_selector("text=| Idle", timeout=60_000)
            errors = page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
            )
            tracebacks = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
            assert not tracebacks, tracebacks
            assert (
                page.locator(".js-plotly-plot").count() >= 4
            )  # scatter, by vendor, by product, trend
            assert page.locator(".widget-button", has_text="Re-price").count() == 1
            # the what-if reacts in the browser too: change the markup, see the sentence change
            before = page.locator(".widget-html-content", has_text="markup").first.inner_text()
            box = page.locator(".widget-text input[type='number']").first
            box.fill("35")
            box.press("Enter")
            page.wait_for_function(
                "b => ![...document.querySelectorAll('.widget-html-content')]"
                ".some(e => e.innerText === b)",
                arg=before,
                timeout=30_000,
            )
            page.keyboard.press("Control+b")  # fold the file browser away for the picture
            page.locator(".jupyter-widgets select").first.scroll_into_view_if_needed()
            page.mouse.wheel(0, -60)
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    readme_image = REPO / "docs" / "img" / "margin_analysis.png"
    if os.environ.get("UPDATE_SCREENSHOT") == "1" or not readme_image.exists():
        readme_image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, readme_image)
