"""crewyard in a real notebook on a real kernel: the synchronous API works inside the kernel's
event loop (CrewAI refused to run there), await works, record and replay work, and a finished
run leaves the embedded memory free for the command line while the kernel lives on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from crewyard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_run_arun_and_replay_in_a_notebook_leave_the_memory_free(
    settings: Settings, two_step_crew: Path
) -> None:
    script = ["Final Answer: - a fact about tides", "Final Answer: # Tides"] * 3
    models = {"aliases": {"standard": {"model": "scripted/main", "script": script}}}
    settings.models_file.write_text(json.dumps(models))
    setup = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import crewyard\nfrom crewyard.settings import Settings\n"
        f"settings = Settings(data_dir={str(settings.data_dir)!r}, "
        f"crews_dir={str(settings.crews_dir)!r}, models_file={str(settings.models_file)!r})"
    )
    cells = [
        setup,
        "first = crewyard.run('demo', settings=settings, record=True, topic='tides')\n"
        "print(first.status, first.output)",
        "second = await crewyard.arun('demo', settings=settings, topic='moon')\n"
        "print(second.status, second.output)",
        "again = crewyard.run('demo', settings=settings, replay=first.run_id)\n"
        "print(again.status, again.replay_of == first.run_id)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, timeout=600, kernel_name="python3")
    env = {
        **os.environ,
        "CREWYARD_DATA_DIR": str(settings.data_dir),
        "CREWYARD_MEMORY_WAIT_S": "0",  # fail at once if the notebook still held the memory
    }
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        printed = [_text(cell) for cell in notebook.cells[1:]]
        # the kernel is alive: the command line can open the same embedded memory
        stats = subprocess.run(
            [sys.executable, "main.py", "memory", "stats", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert printed == ["done # Tides", "done # Tides", "done True"]
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["episodes"] == 2  # the replay learnt nothing


def _text(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])).strip()


def test_a_batch_and_a_resume_in_a_notebook(settings: Settings, two_step_crew: Path) -> None:
    # three items of two calls (each gateway plays the script from its start)
    script = ["Final Answer: noted"] * 6
    models = {"aliases": {"standard": {"model": "scripted/main", "script": script}}}
    settings.models_file.write_text(json.dumps(models))
    # a run whose second task finds no reply (it fails), then resumed with one more
    short, longer = (
        settings.models_file.with_name("short.yaml"),
        settings.models_file.with_name("longer.yaml"),
    )
    for path, replies in ((short, ["Final Answer: facts"]), (longer, ["Final Answer: report"])):
        aliases = {"standard": {"model": "scripted/main", "script": replies}}
        path.write_text(json.dumps({"aliases": aliases}))
    setup = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import crewyard\nfrom pathlib import Path\nfrom crewyard.settings import Settings\n"
        f"settings = Settings(data_dir={str(settings.data_dir)!r}, "
        f"crews_dir={str(settings.crews_dir)!r}, models_file={str(settings.models_file)!r})"
    )
    cells = [
        setup,
        "items = [{'topic': t} for t in ('wind', 'tides', 'sun')]\n"
        "batch = crewyard.batch('demo', items, concurrency=2, settings=settings)\n"
        "records = batch.records()\n"
        "print(len(records), sorted(r['inputs']['topic'] for r in records), batch.failed)",
        f"short = settings.model_copy(update={{'models_file': Path({str(short)!r})}})\n"
        "try:\n    crewyard.run('demo', settings=short, topic='moon')\n"
        "except crewyard.CrewyardError as exc:\n    failed = exc.result\n"
        "print(failed.status, [t.task for t in failed.task_outputs])",
        f"longer = settings.model_copy(update={{'models_file': Path({str(longer)!r})}})\n"
        "again = crewyard.resume(failed.run_id, settings=longer)\n"
        "print(again.status, again.kept, again.output, again.resume_of == failed.run_id)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, timeout=600, kernel_name="python3")
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    batch_cell = notebook.cells[1]
    assert _text(batch_cell) == "3 ['sun', 'tides', 'wind'] []"
    shown = [o for o in batch_cell.outputs if o.get("output_type") in ("display_data",)]
    assert shown and "items: 3 done" in str(batch_cell.outputs)  # the live line, updated
    assert _text(notebook.cells[2]) == "failed ['research']"
    assert _text(notebook.cells[3]) == "done ['research'] report True"
