"""The run viewer's API in-process (Starlette's TestClient): the token is required, the runs
list and a run's timeline are what the store holds; the page is served with its script; the
commands' mistakes are clear errors."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crewyard.cli import main
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from crewyard.ui.app import create_app
from tests.conftest import cli_uses
from tests.viewer_runs import DONE, RUNNING, WAITING, fill, park

TOKEN = "test-token-0123456789"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    store = RunStore(tmp_path / "runs.sqlite3")
    fill(store, tmp_path)
    return TestClient(create_app(store, tmp_path / "cassettes", TOKEN))


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ["/", "/api/runs", f"/api/runs/{DONE}"])
def test_no_token_is_401_and_a_wrong_one_403(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth("nope")).status_code == 403
    assert client.get(path, params={"token": "nope"}).status_code == 403
    assert client.get(path, params={"token": TOKEN}).status_code == 200


def test_the_runs_list_has_status_cost_and_duration(client: TestClient) -> None:
    runs = client.get("/api/runs", headers=auth()).json()["runs"]
    assert [r["id"] for r in runs] == [RUNNING, DONE]
    running, done = runs
    assert (done["status"], done["cost_usd"], done["total_tokens"]) == ("done", 0.05, 150)
    assert done["duration_s"] > 0 and not done["live"]
    assert running["status"] == "running" and running["live"]
    # a live run's spend so far comes from its recorded model calls
    assert (running["total_tokens"], running["cost_usd"]) == (50, 0.0125)
    assert client.get("/api/runs?limit=x", headers=auth()).status_code == 400


def test_a_run_is_its_tasks_and_a_timeline_with_texts(client: TestClient) -> None:
    data = client.get(f"/api/runs/{DONE}", headers=auth()).json()
    assert data["run"]["inputs"] == {"topic": "tides"} and data["run"]["output"] == "# Tides"
    research, write = data["tasks"]
    assert research["name"] == "research" and research["state"] == "done"
    assert (research["model_calls"], research["failed_attempts"], research["tool_calls"]) == (
        2,
        1,
        1,
    )
    assert write["guardrail_retries"] == 1 and write["output_file"] == "report.md"
    assert write["cost_usd"] == pytest.approx(0.025)
    items = data["items"]
    calls = [i for i in items if i["kind"] == "model_call"]
    # the failed attempt has no reply; each answered call has the reply its cassette kept
    assert [c["text"] for c in calls] == [
        None,
        "Final Answer: Tides rise twice a day.",
        "Tides follow the moon.",
        "# Tides\n\nThey follow the moon.",
    ]
    assert calls[0]["data"]["error"] == "rate limited"
    tool = next(i for i in items if i["kind"] == "tool_call")
    assert tool["text"] == "24" and tool["data"]["args"] == {"expression": "12*2"}
    finished = [i["text"] for i in items if i["kind"] == "task_finished"]
    assert finished == ["Tides rise twice a day.", "# Tides\n\nThey follow the moon."]
    assert [i["ts"] for i in items] == sorted(i["ts"] for i in items)
    assert data["answer"]["waiting"] is False and data["questions"] == []


def test_a_parked_run_shows_its_question_and_takes_one_answer(tmp_path: Path) -> None:
    from crewyard.human.answers import give_answer
    from crewyard.runs.questions import QuestionStore
    from crewyard.settings import Settings

    store = RunStore(tmp_path / "runs.sqlite3")
    park(store, tmp_path / "runs.sqlite3", tmp_path)
    resumed: list[str] = []

    def answer_run(run_id: str, text: str | None) -> dict[str, Any]:
        asked = give_answer(Settings(data_dir=tmp_path), run_id, text)
        resumed.append(asked.run_id)  # the viewer resumes it in a process of its own
        return {"answered": asked.key, "run_id": asked.run_id, "resuming": True}

    client = TestClient(create_app(store, tmp_path / "cassettes", TOKEN, answer_run))
    data = client.get(f"/api/runs/{WAITING}", headers=auth()).json()
    assert data["run"]["status"] == "waiting_for_input" and data["run"]["live"]
    answer = data["answer"]
    assert answer["waiting"] and answer["supported"]
    assert [q["prompt"] for q in answer["questions"]] == ["Is this draft good to send?"]
    assert answer["questions"][0]["context"] == "# Draft\n\nHello."
    assert answer["hint"] == f'python main.py runs answer {WAITING} "…"'
    bad = client.post(f"/api/runs/{WAITING}/answer", headers=auth(), json={"text": 3})
    assert bad.status_code == 400
    assert client.post(f"/api/runs/{WAITING}/answer", json={"text": "ok"}).status_code == 401
    done = client.post(f"/api/runs/{WAITING}/answer", headers=auth(), json={"text": "send it"})
    assert done.status_code == 200 and done.json()["answered"] == "draft/1"
    assert resumed == [WAITING]
    (record,) = QuestionStore(tmp_path / "runs.sqlite3").of_run(WAITING)
    assert (record.answer, record.answered_by) == ("send it", "person")
    twice = client.post(f"/api/runs/{WAITING}/answer", headers=auth(), json={"default": True})
    assert twice.status_code == 409 and "not waiting for input" in twice.json()["error"]
    assert resumed == [WAITING]  # answered once, resumed once


def test_a_running_debate_shows_its_turns(client: TestClient) -> None:
    data = client.get(f"/api/runs/{RUNNING}", headers=auth()).json()
    assert data["run"]["live"]
    turns = [i for i in data["items"] if i["kind"] == "turn"]
    assert [(t["agent"], t["text"]) for t in turns] == [("pro", "Yes: cheap power.")]
    assert data["tasks"][0]["state"] == "running" and data["tasks"][0]["turns"] == 1


def test_unknown_runs_and_answers(client: TestClient) -> None:
    missing = client.get("/api/runs/nope", headers=auth())
    assert missing.status_code == 404 and "no run 'nope'" in missing.json()["error"]
    # a viewer made without a way to answer says how to answer instead
    answer = client.post(f"/api/runs/{RUNNING}/answer", headers=auth(), json={"text": "yes"})
    assert answer.status_code == 501 and "runs answer" in answer.json()["error"]


def test_the_page_inlines_its_script_under_a_nonce(client: TestClient) -> None:
    page = client.get("/", params={"token": TOKEN})
    csp = page.headers["content-security-policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page.text and "showRuns" in page.text
    assert "answer-send" in page.text and page.headers["referrer-policy"] == "no-referrer"


def test_a_port_in_use_is_a_clear_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_uses(settings, monkeypatch)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["ui", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}" in err and "--port 0" in err


def test_follow_and_transcript_are_for_one_run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_uses(settings, monkeypatch)
    assert main(["runs", "--follow"]) == 2
    assert "runs show RUN_ID --follow" in capsys.readouterr().err
