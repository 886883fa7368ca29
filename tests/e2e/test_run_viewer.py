"""`python main.py ui` as a user runs it: a real uvicorn on 127.0.0.1 in a subprocess (its
token refused when missing or wrong, the runs list and a run's timeline as JSON), and its page
in a real headless chromium driven by selenium — the runs list, a run's timeline, and a live
update (a turn stored while the page is open appears on it).

The browser is Debian's chromium + chromium-driver (`make test` installs them when apt-get is
usable); nothing downloads a browser at run time. Without them the browser tests skip, except
in CI (CI=true), where they fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crewyard.runs.store import RunStore
from tests.viewer_runs import DONE, RUNNING, WAITING, fill, park

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


class Viewer:
    def __init__(self, url: str, store: RunStore, db: Path) -> None:
        self.url = url
        self.db = db
        self.base, _, self.token = url.partition("/?token=")
        self.store = store

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, _body(response.read(), response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, _body(exc.read(), exc.headers)


def _body(raw: bytes, headers: Any) -> Any:
    is_json = "json" in headers.get("content-type", "")
    return json.loads(raw) if is_json else raw.decode()


@pytest.fixture
def viewer(tmp_path: Path) -> Iterator[Viewer]:
    data = tmp_path / "data"
    data.mkdir()
    store = RunStore(data / "runs.sqlite3")
    fill(store, data)
    park(store, data / "runs.sqlite3", data)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREWYARD_")},
        "CREWYARD_DATA_DIR": str(data),
        "PYTHONPATH": str(ROOT / "tests" / "netguard"),
        "CREWYARD_NETGUARD_LOG": str(tmp_path / "netguard.log"),
    }
    proc = subprocess.Popen(
        [sys.executable, "main.py", "ui", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once it listens
        assert line.startswith("crewyard run viewer: http://127.0.0.1:"), line + proc.stderr.read()
        yield Viewer(line.split(": ", 1)[1].strip(), store, data / "runs.sqlite3")
    finally:
        proc.terminate()
        proc.wait(10)
        store.close()
    netguard = tmp_path / "netguard.log"
    assert not netguard.exists() or netguard.read_text() == ""


def test_the_server_refuses_requests_without_its_token(viewer: Viewer) -> None:
    assert viewer.get("/api/runs")[0] == 401
    assert viewer.get("/api/runs", token="wrong")[0] == 403
    assert viewer.get(f"/api/runs/{DONE}", token="wrong")[0] == 403
    assert viewer.get("/")[0] == 401
    status, page = viewer.get("/?token=" + viewer.token)
    assert status == 200 and "<title>crewyard runs</title>" in page


def test_the_server_answers_runs_and_timelines(viewer: Viewer) -> None:
    status, data = viewer.get("/api/runs", token=viewer.token)
    assert status == 200
    statuses = {r["id"]: r["status"] for r in data["runs"]}
    assert statuses == {DONE: "done", RUNNING: "running", WAITING: "waiting_for_input"}
    status, run = viewer.get(f"/api/runs/{DONE}", token=viewer.token)
    assert status == 200 and [t["name"] for t in run["tasks"]] == ["research", "write"]
    kinds = [i["kind"] for i in run["items"]]
    assert kinds.count("model_call") == 4 and "tool_call" in kinds and "guardrail_failed" in kinds


# --- the page in a real browser ---------------------------------------------------------


def browser_paths() -> tuple[str, str]:
    """chromium and chromedriver from the system; skip without them (fail in CI)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing = "the selenium package (pip install -e '.[dev]')"
    else:
        absent = [
            name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path
        ]
        missing = (
            " and ".join(absent) + " (make browser, or apt-get install chromium chromium-driver)"
        )
    if chromium and driver and "selenium" not in missing:
        return chromium, driver
    why = f"the run viewer's browser tests need {missing}"
    if os.environ.get("CI") == "true":
        pytest.fail(why + ": CI must have it")
    pytest.skip(why)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    chromium, driver = browser_paths()
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager never downloads anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    service = Service(executable_path=driver, log_output=str(tmp_path / "chromedriver.log"))
    session = webdriver.Chrome(options=options, service=service)
    try:
        yield session
    finally:
        session.quit()


def wait_for(browser: Any, css: str, text: str | None = None, timeout: float = 15) -> Any:
    """The first element at css (holding text, if given), waiting for the page to make it."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for node in browser.find_elements(By.CSS_SELECTOR, css):
                if node.is_displayed() and (text is None or text in node.text):
                    return node
        except StaleElementReferenceException:  # a live page redrew it meanwhile
            pass
        time.sleep(0.1)
    shown = [n.text for n in browser.find_elements(By.CSS_SELECTOR, css)]
    raise AssertionError(f"no {css} with {text!r} after {timeout} s; found {shown}")


def cells(browser: Any, row: str) -> list[str]:
    """The texts of a table row's cells, read again if the live page redraws it meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(50):
        try:
            found = wait_for(browser, row).find_elements(By.TAG_NAME, "td")
            return [c.text for c in found]
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"{row} kept changing")


def click(browser: Any, css: str) -> None:
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(50):
        try:
            wait_for(browser, css).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"{css} kept changing")


def test_the_page_lists_the_runs(viewer: Viewer, browser: Any) -> None:
    browser.get(viewer.url)
    done = cells(browser, f'tr[data-run="{DONE}"]')
    assert done[1:4] == ["research", "crewai", "done"]
    assert done[4].endswith(" s") and done[5:] == ["150", "$0.0500"]  # duration, tokens, cost
    running = cells(browser, f'tr[data-run="{RUNNING}"]')
    assert running[1:4] == ["debate", "autogen", "running"]
    assert running[5:] == ["50", "$0.0125"]  # spent so far


def test_a_run_opens_as_its_tasks_and_timeline(viewer: Viewer, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(viewer.url)
    click(browser, f'tr[data-run="{DONE}"] a')
    wait_for(browser, "#run-head h1", f"research · run {DONE}")
    research = wait_for(browser, 'tr[data-task="research"]')
    assert "researcher" in research.text and "done" in research.text
    assert "guardrail" not in research.text
    write = cells(browser, 'tr[data-task="write"]')
    assert write[:3] == ["write", "writer", "done"] and write[5] == "1"  # one guardrail retry
    wait_for(browser, "#timeline li.kind-tool_call", "calculator")
    wait_for(browser, "#timeline li.kind-model_call.failed", "rate limited")
    wait_for(browser, "#timeline li.kind-guardrail_failed", "must start with '# '")
    reply = wait_for(browser, "#timeline li.kind-model_call", "Final Answer: Tides rise twice")
    assert "researcher" in reply.text and "attempt 2" in reply.text
    assert browser.find_element(By.ID, "answer").is_displayed() is False


def test_a_running_run_updates_live(viewer: Viewer, browser: Any) -> None:
    browser.get(f"{viewer.url}#/runs/{RUNNING}")
    wait_for(browser, "#timeline li.kind-turn", "Yes: cheap power.")
    wait_for(browser, "#run-status", "running")
    # stored while the page is open: it appears without a reload
    viewer.store.turn(RUNNING, "decide", "con", "No: it takes the meadow.")
    viewer.store.event(RUNNING, "tool_call", {"tool": "calculator", "agent": "con", "args": {}})
    turn = wait_for(browser, "#timeline li.kind-turn", "No: it takes the meadow.")
    assert "decide · con" in turn.text
    wait_for(browser, "#timeline li.kind-tool_call", "calculator")
    viewer.store.finish(RUNNING, "done", cost_usd=0.02)
    wait_for(browser, "#run-status", "done")
    wait_for(browser, "#run-cost", "$0.0200")


def test_a_parked_run_is_answered_from_the_page(viewer: Viewer, browser: Any) -> None:
    from crewyard.runs.questions import QuestionStore

    browser.get(f"{viewer.url}#/runs/{WAITING}")
    place = wait_for(browser, "#answer", "Is this draft good to send?")
    assert "draft · writer asks:" in place.text
    assert f'python main.py runs answer {WAITING} "…"' in place.text
    wait_for(browser, "#answer-text").send_keys("Send it, but shorter")
    click(browser, "#answer-send")
    wait_for(browser, "#answer-said", "answered")
    (record,) = QuestionStore(viewer.db).of_run(WAITING)
    assert (record.answer, record.answered_by) == ("Send it, but shorter", "person")
