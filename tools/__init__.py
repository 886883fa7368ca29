"""Tools agents may call. `@tool` turns a typed function into a ToolSpec whose JSON schema
comes from its type hints and docstring; engines translate ToolSpecs into their own tools."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args: type[BaseModel]
    fn: Callable[..., Any]

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments."""
        return self.args.model_json_schema()

    def call(self, **kwargs: Any) -> str:
        """Validate the arguments, run, and return text; bad arguments are explained."""
        try:
            checked = self.args.model_validate(kwargs)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            return f"error: bad arguments for {self.name}: {problems}"
        result = self.fn(**checked.model_dump())
        return result if isinstance(result, str) else str(result)


def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> Any:
    """@tool or @tool(name=..., description=...) over a function with typed parameters."""

    def make(func: Callable[..., Any]) -> ToolSpec:
        hints = get_type_hints(func)
        fields: dict[str, Any] = {}
        for param in inspect.signature(func).parameters.values():
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (hints.get(param.name, str), default)
        args = create_model(
            f"{func.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields
        )
        doc = inspect.getdoc(func) or ""
        return ToolSpec(name or func.__name__, description or doc or func.__name__, args, func)

    return make(fn) if fn is not None else make


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression (+ - * / ** % and parentheses), e.g. 2 * (3 + 4)."""
    import ast
    import operator

    ops: dict[type, Callable[..., Any]] = {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.Pow: operator.pow,
        ast.Mod: operator.mod,
        ast.USub: operator.neg,
        ast.UAdd: operator.pos,
        ast.FloorDiv: operator.floordiv,
    }

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            if isinstance(node.op, ast.Pow) and abs(value(node.right)) > 100:
                raise ValueError("exponent too large")
            return ops[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in ops:
            return ops[type(node.op)](value(node.operand))
        raise ValueError("only numbers and + - * / // % ** are allowed")

    try:
        return str(value(ast.parse(expression, mode="eval").body))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError) as exc:
        return f"error: {exc}"


REGISTERED: dict[str, ToolSpec] = {calculator.name: calculator}  # type: ignore[attr-defined]


def registered_names() -> list[str]:
    return sorted(REGISTERED)
