"""Keep secrets out of logs, run records and error messages."""

from __future__ import annotations

import os
import re
from typing import Any

_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|"
    r"gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,}|"
    r"(?<=Bearer )[A-Za-z0-9._\-]{16,})"
)
MASK = "[REDACTED]"


def secret_values(env: dict[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they are secrets, longest first."""
    env = dict(os.environ) if env is None else env
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def redact(text: str, env: dict[str, str] | None = None) -> str:
    """text with secret-looking strings and secret environment values masked."""
    for value in secret_values(env):
        text = text.replace(value, MASK)
    return _SECRET_SHAPES.sub(MASK, text)


def redact_data(value: Any) -> Any:
    """redact() applied to every string inside nested dicts and lists."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value
