"""tests/fakellm: a strict OpenAI-compatible fake model server for contract tests."""

from tests.fakellm.server import FakeLLM, Reply

__all__ = ["FakeLLM", "Reply"]
