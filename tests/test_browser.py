"""The overview notebook in a real browser: JupyterLab headless, Debian's Chromium via Playwright.

Runs every cell, checks that none errored, that the audio players and figures render, clicks the mix
panel's controls and checks the mix is rendered again; saves a screenshot to ``test-artifacts/``.
"""
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

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt.txt)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("jupyter_home")  # no user settings, no workspace from earlier runs
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    # the kernel must be this environment's Python (a user-wide kernelspec could point elsewhere)
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(home / "kernel")],
                   check=True, capture_output=True, env=env)
    env["JUPYTER_PATH"] = str(home / "kernel" / "share" / "jupyter")
    # a copy of the notebook, so that JupyterLab's autosave never writes outputs into the repository
    work = tmp_path_factory.mktemp("notebooks")
    shutil.copy(ROOT / "notebooks" / "00_overview.ipynb", work)
    log = open(home / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.allow_root=True"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(home / 'jupyterlab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield url, token
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


CELL_STATE = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  if (!nb || !nb.content || !nb.content.model) return null;
  const cells = [];
  for (const cell of nb.content.model.cells) {
    if (cell.type !== 'code') continue;
    const j = cell.toJSON();
    cells.push({count: j.execution_count, errors: j.outputs.filter(o => o.output_type === 'error')
                .map(o => o.ename + ': ' + o.evalue)});
  }
  const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
  return {cells, kernel: kernel ? kernel.status : null};
}"""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # pytest-playwright's browser: Debian's Chromium, not one downloaded by `playwright install`
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


def test_overview_notebook_runs_in_chromium(jupyterlab, page):
    from playwright.sync_api import expect

    url, token = jupyterlab
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{url}/lab/tree/00_overview.ipynb?reset&token={token}")
    page.wait_for_function(f"() => {{ const s = ({CELL_STATE})(); return s && s.kernel === 'idle'; }}",
                           timeout=120_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # done when every code cell has an execution count and the kernel is idle again
    page.wait_for_function(
        f"() => {{ const s = ({CELL_STATE})(); return s && s.kernel === 'idle' && s.cells.length > 0 "
        "&& s.cells.every(c => c.count !== null); }",
        timeout=300_000, polling=1000,
    )
    state = page.evaluate(CELL_STATE)
    errors = [e for c in state["cells"] for e in c["errors"]]
    assert not errors, errors

    # the players are real <audio> elements that the browser decodes (75 s of demo), the figures images
    audio = page.locator("audio")
    expect(audio.first).to_be_attached()
    assert audio.count() >= 5
    durations = [audio.nth(i).evaluate(
        "a => new Promise(done => a.readyState >= 1 ? done(a.duration)"
        " : a.addEventListener('loadedmetadata', () => done(a.duration)))") for i in range(audio.count())]
    assert min(durations) > 60, durations
    images = page.locator(".jp-OutputArea-output img")
    assert images.count() >= 1
    assert images.first.evaluate("img => img.naturalWidth") > 100

    # the mix panel: move the balance slider up 6 steps (+3 dB), render, and the levels change
    panel = page.locator(".concerto-nb-mix-panel")
    panel.scroll_into_view_if_needed()
    levels = panel.locator(".widget-html-content").first
    before = levels.inner_text()
    assert "orchestra" in before
    handle = panel.locator(".noUi-handle").first
    handle.focus()
    for _ in range(6):
        handle.press("ArrowRight")
    panel.get_by_role("button", name="Render mix").click()
    expect(levels).not_to_have_text(before, timeout=60_000)
    after = levels.inner_text()
    page.screenshot(path=str(ARTIFACTS / "00_overview.png"), full_page=False)

    def gain(text):  # "... orchestra -19.3 dBFS (gain +2.5 dB) ..." -> 2.5
        return float(text.split("(gain ")[1].split(" dB")[0])

    assert gain(after) == pytest.approx(gain(before) + 3.0, abs=0.01)
