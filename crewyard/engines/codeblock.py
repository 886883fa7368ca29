"""The coder's reply as one Python block, for models too small to write one reliably.

On the embedded model (every model of the alias's chain `local/…`) the coder's reply is
decoded under a GBNF grammar that admits exactly one ```python block whose first line
defines the function the tests call (`def solve(`), with indented lines after it; the block
is then parsed (ast) and, when it does not parse or defines no such function, asked for
again with another seed, a bounded number of times. Other models get the usual prompt, and
only a missing closing fence is mended. Pure translation: no engine is imported here."""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Awaitable, Callable
from typing import Any

from crewyard.context import RunContext
from crewyard.gateway.records import Completion

TRIES = 3  # grammar-decoded blocks asked for before the last one goes to the executor
_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def called_functions(tests: str | None) -> list[str]:
    """Names the tests call that they neither define, import nor get from builtins: the
    functions the coder must write (in the order the tests first call them)."""
    if not tests:
        return []
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return []
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    names = [n.func.id for n in calls if isinstance(n.func, ast.Name)]
    return [name for name in dict.fromkeys(names) if name not in bound]


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def grammar(function: str | None) -> str:
    """GBNF for one ```python block: `def <function>(…):`, indented lines, and the function's
    first top-level `return …` ends it and the block (any name when none is known). No
    comments: a small model wanders off in them."""
    name = _literal(function) if function else "[A-Za-z_] [A-Za-z0-9_]*"
    # a top-level line that does not start with `return`, letter by letter
    not_return = (
        '[^r \\n#] | "r" [^e\\n#] | "re" [^t\\n#] | "ret" [^u\\n#] | "retu" [^r\\n#] | '
        '"retur" [^n\\n#] | "return" [^ \\n#]'
    )
    return "\n".join(
        (
            'root ::= "```python\\n" func "```"',
            f'func ::= "def " {name} "(" [^()\\n#]* "):\\n" (top | deeper)* last',
            f'top ::= "    " ({not_return}) text',
            'deeper ::= ("        " | "            " | "                ") [^ \\n#] text',
            'last ::= "    return " text',
            'text ::= [^\\n#]* "\\n"',
        )
    )


def code_of(text: str) -> str:
    """The Python inside the reply's first fenced block ('' when there is none)."""
    match = _BLOCK.search(text)
    return match.group(1) if match else ""


def problem(text: str, function: str | None) -> str | None:
    """Why the reply is not one runnable block defining function, or None."""
    code = code_of(text)
    if not code.strip():
        return "no ```python block"
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return f"the block does not parse: {exc.msg} (line {exc.lineno})"
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if function and function not in defined:
        return f"the block defines no function {function}()"
    return None


def closed(text: str) -> str:
    """The reply with a last fence a small model forgot (an odd count) put back."""
    return text + "\n```" if text.count("```") % 2 else text


def all_local(ctx: RunContext, ref: str) -> bool:
    """Every model ref may be answered by (the alias and its fallbacks) is the embedded one,
    which decodes by grammar; a remote model would refuse a grammar."""
    try:
        table = ctx.gateway.gateway.table
        models = [table.resolve(name)[1].model for name in table.chain(ref)]
    except Exception:  # auto, or a model the table cannot resolve: no grammar
        return False
    return bool(models) and all(str(m).startswith("local/") for m in models)


Send = Callable[[dict[str, Any]], Awaitable[Completion]]


class CodeShape:
    """How the coder of one crew is asked for its block: by grammar on the embedded model
    (with bounded re-asks while the block does not parse), in words on any other."""

    def __init__(self, ctx: RunContext, tests: str | None) -> None:
        self.ctx = ctx
        functions = called_functions(tests)
        self.function = functions[0] if functions else None
        self.tries = 0  # replies asked for, all turns together (for the run's record)

    def rules(self) -> str:
        """What the coder's system message says about its reply."""
        what = f"define the function {self.function}() the tests call" if self.function else ""
        return (
            "\nWrite one complete Python program in a single ```python block"
            + (f"; it must {what}" if what else "")
            + ". When the executor reports an error, send the whole corrected program again."
        )

    async def complete(self, call: dict[str, Any], send: Send) -> Completion:
        """The coder's reply: under the grammar, re-asked with another seed (at most TRIES
        times) while its block does not parse; the usual request on other models."""
        if not all_local(self.ctx, call["ref"]):
            return await send(call)
        text = grammar(self.function)
        reply: Completion | None = None
        for attempt in range(TRIES):
            self.tries += 1
            fmt = {"type": "grammar", "grammar": text, "seed": attempt}
            reply = await send({**call, "response_format": fmt})
            if (why := problem(reply.text, self.function)) is None:
                return reply
            self.ctx.events.log.debug("coder block {} refused: {}", attempt + 1, why)
        assert reply is not None
        return reply  # the executor reports what is wrong with it, as a round
