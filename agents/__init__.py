"""Agents: the AgentSpec model and the reusable roles in agents/library/."""

from pathlib import Path

from crewyard.agents.spec import AgentSpec

LIBRARY_DIR = Path(__file__).resolve().parent / "library"

__all__ = ["LIBRARY_DIR", "AgentSpec"]
