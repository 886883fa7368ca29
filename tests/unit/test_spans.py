"""Tracing is off and free unless asked for: the OTEL_* variables (or -v) decide; with nothing
configured no OpenTelemetry module is imported, not even by a run; asked for, a run's events
become spans with the times and parents the events give."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crewyard.observe import spans
from crewyard.runs.events import Event, EventKind
from tests.conftest import write_yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("env", "console", "expected"),
    [
        ({}, False, False),
        ({}, True, True),  # -v
        ({"OTEL_TRACES_EXPORTER": "none"}, True, False),  # the variable wins over -v
        ({"OTEL_TRACES_EXPORTER": "console"}, False, True),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, False, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, False, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}, True, False),
        ({"OTEL_SERVICE_NAME": "mine"}, False, False),  # naming the service exports nothing
    ],
)
def test_the_standard_variables_decide_whether_runs_are_traced(
    env: dict[str, str], console: bool, expected: bool
) -> None:
    assert spans.wanted(env, console=console) is expected


PROGRAM = """
import json, sys
import crewyard, crewyard.cli as c
from crewyard import engines
from crewyard.observe import spans
from crewyard.settings import Settings
from tests.unit.seam_plugins import ENGINE

engines.register(ENGINE)
folder, console = sys.argv[1], sys.argv[2] == "console"
if console:
    spans.enable_console()  # what -v does
codes = [c.main(["--list"]), c.main(["--crew", "quiet", "--dry-run", "--input", "word=x"])]
quick = "opentelemetry" in sys.modules
settings = Settings(
    data_dir=folder + "/data", crews_dir=folder + "/crews", models_file=folder + "/models.yaml"
)
result = crewyard.run("quiet", settings=settings, word="hi")
loaded = sorted({m.split(".")[0] for m in sys.modules if m.startswith("opentelemetry")})
print(json.dumps({"codes": codes, "quick": quick, "output": result.output, "loaded": loaded}))
"""


def run_program(tmp_path: Path, mode: str) -> tuple[dict[str, Any], str]:
    write_yaml(tmp_path / "models.yaml", {"aliases": {"standard": {"model": "scripted/main"}}})
    write_yaml(
        tmp_path / "crews/quiet/crew.yaml", {"process": "echo", "memory": {"enabled": False}}
    )
    write_yaml(
        tmp_path / "crews/quiet/agents.yaml", {"a": {"role": "r", "goal": "g", "backstory": "b"}}
    )
    write_yaml(
        tmp_path / "crews/quiet/tasks.yaml",
        {"t": {"description": "say {word}", "expected_output": "x"}},
    )
    models = tmp_path / "models.yaml"
    models.write_text(
        json.dumps({"aliases": {"standard": {"model": "scripted/main", "script": ["one"]}}})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL")}
    env |= {
        "CREWYARD_CREWS_DIR": str(tmp_path / "crews"),
        "CREWYARD_MODELS_FILE": str(models),
        "CREWYARD_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path), mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_with_nothing_configured_no_opentelemetry_module_is_imported(tmp_path: Path) -> None:
    report, _ = run_program(tmp_path, "off")
    assert report == {"codes": [0, 0], "quick": False, "output": "one", "loaded": []}


def test_with_v_the_runs_spans_are_printed_on_stderr_and_the_quick_paths_stay_light(
    tmp_path: Path,
) -> None:
    report, stderr = run_program(tmp_path, "console")
    assert report["quick"] is False  # --list and --dry-run make no run: nothing to trace
    assert report["output"] == "one" and report["loaded"] == ["opentelemetry"]
    assert '"name": "invoke_workflow quiet"' in stderr
    assert '"name": "chat main"' in stderr
    assert '"gen_ai.system": "scripted"' in stderr


def test_model_and_tool_spans_end_at_their_event_and_start_their_latency_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    from crewyard.observe.tracing import Tracing

    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    listen = Tracing(provider, parent_of=lambda: None).listener
    t0 = 1_000.0

    def emit(kind: EventKind, at: float, **data: Any) -> None:
        listen(Event(kind, "r1", data, ts=t0 + at))

    emit(EventKind.RUN_STARTED, 0, crew="c", engine="e", process="p", inputs={"key": "s3cret"})
    emit(EventKind.TASK_STARTED, 1, task="t", agent="a")
    emit(EventKind.AGENT_TURN, 1, task="t", agent="a")
    call = {"alias": "smart", "agent": "a", "task": "t", "prompt_tokens": 9}
    emit(EventKind.MODEL_CALL, 3, **call, model="openai/gpt-x", latency_ms=1500, error="503")
    emit(
        EventKind.MODEL_CALL,
        4,
        **call,
        model="anthropic/claude-y",
        completion_tokens=2,
        latency_ms=500,
        attempt=2,
        fallback_from="smart",
        cost_usd=0.25,
    )
    emit(EventKind.TOOL_CALL, 5, tool="calculator", agent="a", duration_ms=250, result="4")
    failed = {"checks": ["min_words"], "reasons": ["too short"], "output": "s3cret draft"}
    emit(EventKind.GUARDRAIL_FAILED, 5.5, task="t", attempt=1, retries_left=0, **failed)
    emit(EventKind.RUN_FINISHED, 6, status="failed", total_tokens=20)

    named = {s.name: s for s in exporter.get_finished_spans()}
    failed, answered = named["chat gpt-x"], named["chat claude-y"]
    assert (failed.start_time, failed.end_time) == (int(1_001.5e9), int(1_003e9))
    assert failed.status.status_code is StatusCode.ERROR
    attrs = dict(answered.attributes or {})
    assert attrs["gen_ai.system"] == "anthropic" and attrs["crewyard.attempt"] == 2
    assert attrs["crewyard.fallback_from"] == "smart" and attrs["crewyard.cost_usd"] == 0.25
    assert answered.start_time == int(1_003.5e9)
    tool = named["execute_tool calculator"]
    assert (tool.start_time, tool.end_time) == (int(1_004.75e9), int(1_005e9))
    turn = named["invoke_agent a"]
    assert {failed.parent.span_id, tool.parent.span_id} == {turn.context.span_id}  # type: ignore[union-attr]
    task, run = named["task t"], named["invoke_workflow c"]
    assert task.status.status_code is StatusCode.ERROR  # the run stopped before it finished
    (verdict,) = task.events
    assert verdict.name == "guardrail_failed" and verdict.timestamp == int(1_005.5e9)
    assert dict(verdict.attributes or {}) == {
        "crewyard.task": "t",
        "crewyard.attempt": 1,
        "crewyard.retries_left": 0,
        "crewyard.checks": ("min_words",),
    }
    assert run.status.status_code is StatusCode.ERROR and turn.end_time == int(1_006e9)
    assert list((run.attributes or {})["crewyard.inputs"]) == ["key"]
    texts = [dict(s.attributes or {}) for s in named.values()]
    texts += [dict(e.attributes or {}) for s in named.values() for e in s.events]
    assert "s3cret" not in json.dumps(texts, default=list)
