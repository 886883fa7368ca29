"""Tasks: the TaskSpec model and the reusable templates in tasks/library/."""

from pathlib import Path

from crewyard.tasks.spec import TaskSpec

LIBRARY_DIR = Path(__file__).resolve().parent / "library"

__all__ = ["LIBRARY_DIR", "TaskSpec"]
