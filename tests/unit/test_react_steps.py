"""The JSON step small models are held to (tools/react.py): its schema offers exactly the
tools with their arguments' shapes or a final answer, and each step is written back as the
Thought / Action / Action Input text CrewAI reads."""

from __future__ import annotations

import json

from crewyard.tools import react
from crewyard.tools.builtin import calculator


def test_the_step_schema_is_a_call_of_an_offered_tool_or_an_answer() -> None:
    schema = react.step_schema([("calculator", calculator.args.model_json_schema())])
    call, final = schema["anyOf"]
    assert call["properties"]["action"] == {"type": "string", "enum": ["calculator"]}
    args = call["properties"]["action_input"]
    assert args["required"] == ["expression"] and args["additionalProperties"] is False
    assert args["properties"]["expression"] == {"type": "string"}  # title dropped
    assert final["required"] == ["thought", "final_answer"]
    only_answer = react.step_schema([])
    assert "anyOf" not in only_answer and "final_answer" in only_answer["properties"]
    fmt = react.response_format([("calculator", calculator.args.model_json_schema())])
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == schema


def test_steps_are_written_as_crewai_text() -> None:
    step = {"thought": "multiply\nit", "action": "calculator"}
    step["action_input"] = {"expression": "2*3"}
    assert react.as_text(json.dumps(step)) == (
        'Thought: multiply it\nAction: calculator\nAction Input: {"expression": "2*3"}'
    )
    answer = {"thought": "", "final_answer": "6"}
    assert react.as_text(json.dumps(answer)) == "Thought: I act.\nFinal Answer: 6"
    assert react.as_text("Final Answer: plain text") == "Final Answer: plain text"
    assert react.as_text("[1, 2]") == "[1, 2]"


def test_a_step_cut_off_by_max_tokens_is_closed_first() -> None:
    cut = '{ "thought": "sum it" ,"final_answer" : "{ 1980.56'
    assert react.as_text(cut) == "Thought: sum it\nFinal Answer: { 1980.56"
    cut = '{"thought": "x", "final_answer": "line one\\nline two\\'
    assert react.as_text(cut) == "Thought: x\nFinal Answer: line one\nline two"
    cut = '{"thought": "x", "action": "calculator", "action_input": {"expression": "2*3'
    assert react.as_text(cut).endswith('Action Input: {"expression": "2*3"}')


def test_a_transcript_shows_a_json_step_as_the_step_it_was_read_as() -> None:
    from crewyard.runs.transcripts import reply_text

    step = '{"thought": "I know it", "final_answer": "Tides follow the moon."}'
    assert reply_text({"text": step}) == "Thought: I know it\nFinal Answer: Tides follow the moon."
    assert reply_text({"text": "plain words"}) == "plain words"
