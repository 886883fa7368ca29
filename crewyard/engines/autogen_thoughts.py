"""tree_of_thought on AutoGen's model client: a thinker proposes candidate next thoughts under
a JSON schema, an evaluator scores them (1–10), the best `beam` paths go on for `depth` levels
or until the token budget is spent, then the thinker answers along the best path."""

from __future__ import annotations

from crewyard.context import RunContext
from crewyard.crews.options import TreeOfThoughtOptions
from crewyard.engines import planning
from crewyard.engines.autogen_planning import Planning, each_task, pick, run_planning
from crewyard.engines.planning import Level, Path
from crewyard.runs.events import EventKind
from crewyard.runs.result import TaskOutput


async def tree_of_thought(ctx: RunContext) -> list[TaskOutput]:
    opts = TreeOfThoughtOptions.model_validate(ctx.spec.engine_options)
    names = list(ctx.spec.agents)
    thinker = pick(opts.thinker, names[0], names, names[0])
    default_evaluator = "judge" if "judge" in names else thinker
    evaluator = pick(opts.evaluator, "evaluator", names, default_evaluator)
    return await each_task(
        ctx, thinker, lambda run, name: _Search(run, opts, thinker, evaluator, name).answer()
    )


class _Search:
    """One task's tree of thoughts: proposals, scores, the budget, and the answer."""

    def __init__(
        self,
        run: Planning,
        opts: TreeOfThoughtOptions,
        thinker: str,
        evaluator: str,
        task: str,
    ) -> None:
        self.run, self.opts, self.task = run, opts, task
        self.thinker, self.evaluator = thinker, evaluator
        self.question = run.message_for(task)
        self.used = 0  # tokens of the search's calls

    def path_text(self, path: Path) -> str:
        steps = "\n".join(f"{i}. {t}" for i, t in enumerate(path.thoughts, 1))
        return f"\n\nThoughts so far:\n{steps}" if steps else ""

    async def propose(self, path: Path) -> list[str]:
        breadth = self.opts.breadth
        prompt = (
            f"{self.question}{self.path_text(path)}\n\nPropose {breadth} different next "
            'thoughts toward the answer, one sentence each. JSON: {"thoughts": [...]}'
        )
        thoughts, tokens = await self.run.structured(
            self.thinker,
            prompt,
            "thoughts",
            planning.thoughts_schema(breadth),
            lambda text: planning.read_thoughts(text, breadth),
        )
        self.used += tokens
        return list(thoughts)

    async def score(self, path: Path, thoughts: list[str]) -> list[int]:
        listed = "\n".join(f"{i}. {t}" for i, t in enumerate(thoughts, 1))
        prompt = (
            f"{self.question}{self.path_text(path)}\n\nCandidate next thoughts:\n{listed}\n\n"
            "Score each from 1 (useless) to 10 (leads straight to a good answer), in order. "
            'JSON: {"scores": [...]}'
        )
        scores, tokens = await self.run.structured(
            self.evaluator,
            prompt,
            "scores",
            planning.scores_schema(len(thoughts)),
            lambda text: planning.read_scores(text, len(thoughts)),
        )
        self.used += tokens
        return list(scores)

    def report(self, level: Level) -> None:
        kept = set(map(id, level.kept))
        self.run.ctx.events.emit(
            EventKind.THOUGHTS_SCORED,
            task=self.task,
            depth=level.depth,
            candidates=[
                {"thought": p.thoughts[-1], "score": p.score, "kept": id(p) in kept}
                for p in level.candidates
            ],
            budget_spent=level.budget_spent,
            tokens=self.used,
        )

    def spent(self) -> bool:
        return self.opts.max_tokens is not None and self.used >= self.opts.max_tokens

    async def answer(self) -> TaskOutput:
        opts = self.opts
        best = await planning.beam_search(
            self.propose, self.score, opts.depth, opts.beam, self.spent, self.report
        )
        prompt = (
            f"{self.question}{self.path_text(best)}\n\nFollow these thoughts. {self.run.closing()}"
        )
        agent = self.run.ctx.spec.tasks[self.task].agent or self.thinker
        return await self.run.answer(agent, prompt)


def run_tree_of_thought(ctx: RunContext) -> list[TaskOutput]:
    """Run a tree_of_thought crew; the task outputs in order."""
    return run_planning(ctx, tree_of_thought)
