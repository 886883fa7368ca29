"""Keep secrets out of logs, run records and error messages."""

from __future__ import annotations

import os
import re
from typing import Any

from loguru import logger as _loguru

_SECRET_NAME = re.compile(
    r"(API_?KEY|_KEY$|^KEY$|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE
)
# Variables named as API keys in models.yaml (api_key_env), whatever their names look like.
_KEY_VARIABLES: set[str] = set()
# Secret values given in files rather than the environment (MCP servers' HTTP headers).
_KEY_VALUES: set[str] = set()
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|"
    r"gh[pousr]_[A-Za-z0-9]{20,}|xox[abpr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,}|"
    r"(?<=Bearer )[A-Za-z0-9._\-]{16,})"
)
MASK = "[REDACTED]"
# the password of a URL (postgresql://user:password@host/db)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s/]+@", re.IGNORECASE)


_seen: tuple[Any, frozenset[str], list[str]] | None = None  # os.environ's raw bytes, names, values


def secret_values(env: dict[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they are secrets, longest first."""
    global _seen
    if env is None:
        # every record, event and turn is redacted: decode and scan os.environ only when it
        # changed (its undecoded bytes compare in C; the scan was ~0.25 ms a call)
        raw = dict(getattr(os.environ, "_data", None) or {}) or None
        if raw is not None and _seen and _seen[0] == raw and _seen[1] == _KEY_VARIABLES:
            return _seen[2]
        found = _scan(dict(os.environ))
        if raw is not None:
            _seen = (raw, frozenset(_KEY_VARIABLES), found)
        return found
    return _scan(env)


def _scan(env: dict[str, str]) -> list[str]:
    values = {
        v for k, v in env.items() if (k in _KEY_VARIABLES or _SECRET_NAME.search(k)) and len(v) >= 8
    } | _KEY_VALUES
    return sorted(values, key=len, reverse=True)


def treat_as_secret(variable: str) -> None:
    """Mask this environment variable's value wherever it shows up (an api_key_env)."""
    _KEY_VARIABLES.add(variable)


def treat_value_as_secret(value: str) -> None:
    """Mask this value wherever it shows up (a header value written in crew.yaml)."""
    global _seen
    if len(value) >= 8:
        _KEY_VALUES.add(value)
        _seen = None


def redact(text: str, env: dict[str, str] | None = None) -> str:
    """text with secret-looking strings and secret environment values masked."""
    for value in secret_values(env):
        text = text.replace(value, MASK)
    return _URL_PASSWORD.sub(rf"\1{MASK}@", _SECRET_SHAPES.sub(MASK, text))


def redact_data(value: Any) -> Any:
    """redact() applied to every string inside nested dicts and lists."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value


def _redact_record(record: Any) -> None:
    record["message"] = redact(record["message"])
    for key, value in list(record["extra"].items()):
        if isinstance(value, str):
            record["extra"][key] = redact(value)


# crewyard's logger: loguru's, with secrets masked in every record crewyard makes (and only in
# those: the process's other loggers, patchers and sinks are the caller's). The event stream
# is logged at TRACE, below loguru's default sink, so a program that imports crewyard sees
# warnings, not every step of every run; the CLI's -v and the run's own log file show it all.
logger = _loguru.patch(_redact_record)
