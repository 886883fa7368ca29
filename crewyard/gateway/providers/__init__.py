"""Providers: models that LiteLLM does not serve, chosen by the prefix of the model string
(`local/smollm2`, `scripted/main`) before the Router is asked. Each gateway builds its own
(a provider keeps that gateway's settings and scripts), so nothing is global and LiteLLM's own
provider list is never touched.

A new provider is a class with the `Provider` methods and a constructor taking the
`ModelTable`; register it for a prefix with `register(prefix, factory)`, or from another
package through the `crewyard.providers` entry point group (name = prefix). A provider that
can stream also has the `Streaming` methods; one that has not is streamed as one piece."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from crewyard import plugins
from crewyard.gateway.config import ModelTable
from crewyard.gateway.providers.local import LocalProvider
from crewyard.gateway.providers.scripted import ScriptedProvider
from crewyard.gateway.records import Reply, TextFn

ENTRY_POINTS = "crewyard.providers"


class Provider(Protocol):
    """What the gateway asks of a provider. `model` is the part after the prefix."""

    free: bool  # costs nothing and needs no API key

    def complete(
        self, model: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        """One chat completion. options: stop, tools, temperature, max_tokens,
        response_format (unset ones are absent). Errors are raised: an exception with
        `status_code = 400` is the caller's fault and never retried."""
        ...

    async def acomplete(
        self, model: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply: ...

    def count_tokens(self, model: str, text: str) -> int: ...

    def context_window(self, model: str) -> int: ...

    def capabilities(self, model: str) -> dict[str, bool]:
        """vision, function_calling, json_output, structured_output — truthfully."""
        ...


class Streaming(Protocol):
    """A provider that streams: complete(), each piece of the reply's text to on_text as it
    arrives (on_text None: not streamed), with the same final Reply and usage."""

    def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        on_text: TextFn | None,
    ) -> Reply: ...

    async def astream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        on_text: TextFn | None,
    ) -> Reply: ...


ProviderFactory = Callable[[ModelTable], Provider]


_registered: dict[str, ProviderFactory] = {}
_plugins_loaded = False


def register(prefix: str, factory: ProviderFactory) -> None:
    """Serve `prefix/…` model strings with providers made by factory."""
    _registered[prefix] = factory


def factories() -> dict[str, ProviderFactory]:
    """Every provider factory by prefix: the built-in ones, registered ones, plugins."""
    global _plugins_loaded
    if not _plugins_loaded:
        for entry in plugins.declared(ENTRY_POINTS):
            _registered.setdefault(entry.name, entry.load())
        _plugins_loaded = True
    return {"local": LocalProvider, "scripted": ScriptedProvider, **_registered}


def prefix_of(model: str) -> str:
    return model.split("/", 1)[0]
