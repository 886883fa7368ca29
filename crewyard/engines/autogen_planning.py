"""The planning processes on AutoGen: plan_execute (a planner's typed plan, each step run by an
AssistantAgent with the step's tools, the rest of the plan revised after a failed step), rewoo
(one planning call, the tools run without a model, a solver answers from the evidence) and
tree_of_thought (a beam search over scored thoughts). Structure (plans, thoughts, scores) is
asked for under a JSON schema where the model takes one (the embedded model decodes it by
grammar) and in words otherwise; a reply that does not fit is sent back with the reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from autogen_agentchat.messages import ToolCallExecutionEvent

from crewyard.context import RunContext
from crewyard.crews.options import PlanExecuteOptions, RewooOptions
from crewyard.engines import planning
from crewyard.engines.asyncrun import run_coroutine
from crewyard.engines.autogen_engine import _AutoGenRun, _logs_to_the_run, _review
from crewyard.engines.planning import PlanProblem, PlanStep
from crewyard.engines.prompts import agent_system_message
from crewyard.errors import CrewyardError, EngineError
from crewyard.guardrails import Guard, feedback
from crewyard.runs.events import EventKind
from crewyard.runs.result import TaskOutput
from crewyard.tools import formats, react

STRUCTURE_TRIES = 3  # a reply that does not fit its schema is sent back this many times
FAILED = "STEP FAILED:"
RESULT_CHARS = 600  # of a step's result or an evidence, in events and in later prompts


def pick(named: str | None, role: str, agents: list[str], fallback: str) -> str:
    if named is not None:
        if named not in agents:
            raise EngineError(f"engine_options names agent {named!r}, not in agents.yaml")
        return named
    return role if role in agents else fallback


class Planning(_AutoGenRun):
    """Model calls of the planning processes: structured ones and plain answers."""

    def messages(self, agent: str, prompt: str) -> list[dict[str, Any]]:
        system = agent_system_message(self.ctx.spec.agents[agent])
        return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]

    async def call(self, agent: str, messages: list[dict[str, Any]], fmt: Any = None) -> Any:
        alias = self.ctx.spec.agent_model(agent)
        self.ctx.events.emit(EventKind.AGENT_TURN, agent=agent, task=self.task)
        return await self.ctx.gateway.acomplete(
            self.ctx.model_for(self.task, alias),
            messages,
            agent=agent,
            task=self.task,
            response_format=fmt,
        )

    async def structured(
        self, agent: str, prompt: str, name: str, schema: dict[str, Any], read: Any
    ) -> tuple[Any, int]:
        """read(reply) of the agent's reply under schema, and the tokens it took."""
        alias = self.ctx.spec.agent_model(agent)
        takes_schema = bool(self.ctx.gateway.model_info(alias).get("structured_output"))
        prompt, fmt = formats.asking(prompt, name, schema, takes_schema)
        messages, tokens = self.messages(agent, prompt), 0
        for attempt in range(1, STRUCTURE_TRIES + 1):
            reply = await self.call(agent, messages, fmt)
            tokens += reply.prompt_tokens + reply.completion_tokens
            self.ctx.store.turn(self.ctx.run_id, self.task or "", agent, reply.text)
            try:
                return read(reply.text), tokens
            except PlanProblem as exc:
                if attempt == STRUCTURE_TRIES:
                    raise EngineError(
                        f"task {self.task!r}: {agent}'s {name} did not fit after "
                        f"{attempt} tries: {exc}"
                    ) from None
                messages += formats.sent_back(reply.text, exc)
        raise AssertionError("unreachable")

    async def answer(self, agent: str, prompt: str) -> TaskOutput:
        """The task's answer in prose, checked by its guardrails (a retry reads the reasons)."""
        assert self.task is not None
        guard, messages = Guard.of(self.task, self.ctx), self.messages(agent, prompt)
        fmt = self.answer_format(agent)
        while True:
            reply = (await self.call(agent, messages, fmt)).text
            text = self.answer_text(reply) if fmt else reply.strip()
            self.ctx.store.turn(self.ctx.run_id, self.task, agent, text)
            if not (reasons := await _review(guard, text)):
                return self.ctx.finish_task(self.task, agent, text)
            messages += [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": feedback(reasons)},
            ]

    def answer_format(self, agent: str) -> dict[str, Any] | None:
        """For a model that takes a schema, the answer's length guardrails as structure: the
        answer is decoded as {"answer": "..."} within them (a small model that repeats a short
        answer on every retry then writes one of the wanted length). None otherwise."""
        assert self.task is not None
        rules = self.ctx.spec.tasks[self.task].checks
        alias = self.ctx.spec.agent_model(agent)
        if rules is None or (rules.min_length is None and rules.max_length is None):
            return None
        if not self.ctx.gateway.model_info(alias).get("structured_output"):
            return None
        text: dict[str, Any] = {"type": "string", "minLength": rules.min_length or 1}
        if rules.max_length is not None:
            text["maxLength"] = rules.max_length
        schema = {
            "type": "object",
            "properties": {"answer": text},
            "required": ["answer"],
            "additionalProperties": False,
        }
        return formats.json_schema("answer", schema)

    @staticmethod
    def answer_text(reply: str) -> str:
        step = react.load_step(reply)  # one cut off by max_tokens is closed first
        found = step.get("answer") if isinstance(step, dict) else None
        return str(found).strip() if found is not None else reply.strip()

    def closing(self) -> str:
        """The last words of an answer's prompt: what to write, said last (a small model
        follows the end of its prompt best)."""
        assert self.task is not None
        return "Now write the answer to the task above, as its expected output asks."

    def tool_names(self, agent: str) -> list[str]:
        return [t.name for t in self.ctx.tools_for(agent, self.task)]


def _clip(text: str) -> str:
    return text if len(text) <= RESULT_CHARS else text[: RESULT_CHARS - 2] + " …"


async def each_task(
    ctx: RunContext, lead: str, do: Callable[[Planning, str], Awaitable[TaskOutput]]
) -> list[TaskOutput]:
    """Tasks in order (a resumed run keeps the finished ones), each done by do(run, task)."""
    run = Planning(ctx)
    for name in ctx.spec.tasks:
        if (done := ctx.kept_output(name)) is not None:
            run.outputs.append(done)
            continue
        run.task = name
        ctx.events.emit(EventKind.TASK_STARTED, task=name, agent=lead)
        run.outputs.append(await do(run, name))
    return run.outputs


async def _plan_execute(ctx: RunContext) -> list[TaskOutput]:
    opts = PlanExecuteOptions.model_validate(ctx.spec.engine_options)
    names = list(ctx.spec.agents)
    planner = pick(opts.planner, "planner", names, names[0])
    return await each_task(ctx, planner, lambda run, name: _planned(run, opts, planner, name))


class _Planner:
    """One task's planner: the plan's prompt, schema and reading, with what is done so far."""

    def __init__(self, run: Planning, opts: PlanExecuteOptions, planner: str, task: str):
        self.run, self.opts, self.planner = run, opts, planner
        self.question = run.message_for(task)
        self.tools = {a: run.tool_names(a) for a in run.ctx.spec.agents}
        self.roster = "\n".join(
            f"- {a} ({run.ctx.spec.agents[a].role}); tools: {', '.join(ts) or 'none'}"
            for a, ts in self.tools.items()
        )

    async def plan(self, extra: str, done: int) -> list[PlanStep]:
        room = self.opts.max_steps - done
        prompt = (
            f"{self.question}\n\nAgents who can do steps:\n{self.roster}\n\n{extra}Write a "
            f"plan of at most {room} steps for this task. Each step names the agent who does "
            "it, what it does, and the tools it uses (from that agent's tools; none if it "
            'needs none). JSON: {"steps": [{"agent": ..., "does": ..., "tools": [...]}]}'
        )
        steps, _ = await self.run.structured(
            self.planner,
            prompt,
            "plan",
            planning.plan_schema(self.tools, room),
            lambda text: planning.read_plan(text, self.tools, self.opts.max_steps, done),
        )
        return list(steps)


async def _planned(run: Planning, opts: PlanExecuteOptions, planner: str, name: str) -> TaskOutput:
    ctx, planner_of = run.ctx, _Planner(run, opts, planner, name)
    plan = await planner_of.plan("", 0)
    ctx.events.emit(
        EventKind.PLAN_MADE, task=name, steps=[s.line(i) for i, s in enumerate(plan, 1)]
    )
    results: list[tuple[PlanStep, str]] = []
    replans = 0
    while len(results) < len(plan):
        step, number = plan[len(results)], len(results) + 1
        result, failure = await _run_step(run, planner_of.question, plan, results, step, number)
        ctx.events.emit(
            EventKind.STEP_FINISHED,
            task=name,
            step=number,
            agent=step.agent,
            does=step.does,
            ok=failure is None,
            result=_clip(result),
            failure=failure,
        )
        if failure is None:
            results.append((step, result))
            continue
        if replans >= opts.max_replans or len(results) >= opts.max_steps:
            raise EngineError(
                f"task {name!r}: step {number} ({step.does}) failed: {failure}; "
                f"the plan was revised {replans} time(s) (max_replans: {opts.max_replans})"
            )
        replans += 1
        report = f"{_done_so_far(results)}Step {number} ({step.does}) failed: {failure}\n\n"
        rest = await planner_of.plan(
            f"{report}Revise the plan: the steps still to do.\n\n", number - 1
        )
        plan = [s for s, _ in results] + rest
        ctx.events.emit(
            EventKind.PLAN_REVISED,
            task=name,
            revision=replans,
            after_step=number,
            reason=failure,
            steps=[s.line(i) for i, s in enumerate(rest, number)],
        )
    writer = ctx.spec.tasks[name].agent or planner
    done = _done_so_far(results)
    prompt = f"{planner_of.question}\n\n{done}{run.closing()}"
    return await run.answer(writer, prompt)


def _done_so_far(results: list[tuple[PlanStep, str]]) -> str:
    if not results:
        return ""
    lines = [f"[step {i}: {s.does}]\n{_clip(r)}" for i, (s, r) in enumerate(results, 1)]
    return "Results so far:\n" + "\n\n".join(lines) + "\n\n"


async def _run_step(
    run: Planning,
    question: str,
    plan: list[PlanStep],
    results: list[tuple[PlanStep, str]],
    step: PlanStep,
    number: int,
) -> tuple[str, str | None]:
    """(result, why it failed or None) of one step, run by its agent with its tools."""
    agent = run.assistant(step.agent, only=step.tools)  # no tools named: all the agent's
    message = (
        f"{question}\n\n{_done_so_far(results)}Your step ({number} of {len(plan)}): "
        f"{step.does}\nDo only this step and write its result in a few sentences. If it "
        f"cannot be done, begin your reply with {FAILED} and say why."
    )
    try:
        reply = await agent.run(task=message)
    except CrewyardError:  # budget spent, a model that cannot be reached: the run's failure
        raise
    except Exception as exc:  # an agent's own failure (a malformed call): the step failed
        return "", f"{type(exc).__name__}: {exc}"
    text = reply.messages[-1].to_text().strip() if reply.messages else ""
    run.ctx.store.turn(run.ctx.run_id, run.task or "", step.agent, text)
    outcomes = [
        r.content
        for m in reply.messages
        if isinstance(m, ToolCallExecutionEvent)
        for r in m.content
    ]
    if text.upper().startswith(FAILED):
        return text, text[len(FAILED) :].strip() or "the agent said it cannot be done"
    if not text:
        return text, "the agent gave no result"
    if outcomes and all(o.startswith("error:") for o in outcomes):
        return text, f"every tool call failed, last: {outcomes[-1][:200]}"
    return text, None


async def _rewoo(ctx: RunContext) -> list[TaskOutput]:
    opts = RewooOptions.model_validate(ctx.spec.engine_options)
    names = list(ctx.spec.agents)
    planner = pick(opts.planner, "planner", names, names[0])
    solver = pick(opts.solver, "solver", names, names[-1])
    return await each_task(
        ctx, planner, lambda run, name: _rewoo_task(run, opts, planner, solver, name)
    )


async def _rewoo_task(
    run: Planning, opts: RewooOptions, planner: str, solver: str, name: str
) -> TaskOutput:
    ctx, question = run.ctx, run.message_for(name)
    owners = {
        t.name: (a, t) for a in reversed(list(ctx.spec.agents)) for t in ctx.tools_for(a, name)
    }
    shapes = [(n, t.args.model_json_schema()) for n, (_, t) in sorted(owners.items())]
    listing = "\n".join(f"- {n}: {t.description}" for n, (_, t) in sorted(owners.items()))
    prompt = (
        f"{question}\n\nTools:\n{listing or '(none)'}\n- llm: ask a model a question "
        '(args: {"prompt": ...})\n\nPlan how to gather the evidence for this task, in at '
        f"most {opts.max_steps} steps. Step n's result is #En; a later step may use "
        "#E1, #E2, … inside its args. You will not see the results: write every step now. "
        'JSON: {"steps": [{"plan": ..., "tool": ..., "args": {...}}]}'
    )
    plan, _ = await run.structured(
        planner,
        prompt,
        "evidence_plan",
        planning.evidence_schema(shapes, opts.max_steps),
        lambda text: planning.read_evidence_plan(text, list(owners), opts.max_steps),
    )
    ctx.events.emit(EventKind.PLAN_MADE, task=name, steps=[s.line() for s in plan])
    evidence: dict[str, str] = {}
    for step in plan:
        args = planning.substitute(step.args, evidence)
        if step.tool == planning.LLM_STEP:
            asked = str(args.get("prompt") or step.plan)
            reply = await run.call(solver, run.messages(solver, asked))
            result, ok = reply.text.strip(), True
        else:
            owner, tool = owners[step.tool]
            result = await asyncio.to_thread(ctx.call_tool, tool, args, owner)
            ok = not result.startswith("error:")
        evidence[step.var] = _clip(result)
        ctx.events.emit(
            EventKind.EVIDENCE,
            task=name,
            var=step.var,
            tool=step.tool,
            args=args,
            ok=ok,
            result=_clip(result),
        )
    found = "\n\n".join(f"{s.line()} ({s.plan}):\n{evidence[s.var]}" for s in plan)
    solve = f"{question}\n\nEvidence gathered:\n{found}\n\n{run.closing()}"
    return await run.answer(ctx.spec.tasks[name].agent or solver, solve)


def run_planning(
    ctx: RunContext, runner: Callable[[RunContext], Coroutine[Any, Any, list[TaskOutput]]]
) -> list[TaskOutput]:
    """Run a planning process's coroutine with AutoGen's logs in the run's log."""
    with _logs_to_the_run(ctx):
        return run_coroutine(lambda: runner(ctx))


def run_plans(ctx: RunContext) -> list[TaskOutput]:
    """Run a plan_execute or rewoo crew; the task outputs in order."""
    runner = {"plan_execute": _plan_execute, "rewoo": _rewoo}.get(ctx.spec.process)
    if runner is None:
        raise EngineError(f"no planning process named {ctx.spec.process!r}")
    return run_planning(ctx, runner)
