"""MCP tool-call overhead: the same tool (`echo` of tests/mcp_servers/server.py, over stdio)
called through crewyard's Tool (tools/mcp_client.py: argument model, loop thread, timeout,
text result) against the bare `mcp` ClientSession, each on a server process of its own, in
interleaved blocks that swap the order every round. Prints per-call p50/mean and the ratio.
Target: ours ≤ 1.1× the bare client's time per call.

    .venv/bin/python bench/mcp_overhead.py [calls per client, default 400]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this tree's crewyard, not the installed one

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from crewyard.tools.mcp_client import open_mcp
from crewyard.tools.mcp_spec import McpServerSpec

SERVER = ROOT / "tests" / "mcp_servers" / "server.py"
TARGET = 1.1
BLOCK = 20
WARMUP = 20
OURS, BARE = "crewyard Tool", "bare mcp ClientSession"


async def measure(calls: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {OURS: [], BARE: []}
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)])
    with (
        tempfile.TemporaryDirectory() as logs,
        open(os.devnull, "w") as quiet,
        open_mcp(
            {"py": McpServerSpec(command=sys.executable, args=(str(SERVER),))}, Path(logs), "b"
        ) as ours,
    ):
        tool = ours.tools["py__echo"]
        async with stdio_client(params, quiet) as (read, write), ClientSession(read, write) as bare:
            await bare.initialize()

            def ours_block(texts: list[str]) -> list[float]:
                took = []
                for text in texts:
                    started = time.perf_counter()
                    answer = tool.call(text=text)
                    took.append(time.perf_counter() - started)
                    assert answer == f"echo: {text}", answer
                return took

            async def bare_block(texts: list[str]) -> list[float]:
                took = []
                for text in texts:
                    started = time.perf_counter()
                    result = await bare.call_tool("echo", {"text": text})
                    took.append(time.perf_counter() - started)
                    assert result.content[0].text == f"echo: {text}"  # type: ignore[union-attr]
                return took

            warm = [f"warm {i}" for i in range(WARMUP)]
            await asyncio.to_thread(ours_block, warm)
            await bare_block(warm)
            for round_ in range(calls // BLOCK):
                texts = [f"call {round_}-{i}" for i in range(BLOCK)]
                for who in (OURS, BARE) if round_ % 2 == 0 else (BARE, OURS):
                    # engines call tools from a thread of their own (AutoGen: to_thread)
                    if who == OURS:
                        times[OURS] += await asyncio.to_thread(ours_block, texts)
                    else:
                        times[BARE] += await bare_block(texts)
    return times


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    times = asyncio.run(measure(calls))
    for who, took in times.items():
        p50 = statistics.median(took) * 1000
        mean = statistics.fmean(took) * 1000
        print(f"{who:>24}: p50 {p50:6.3f} ms  mean {mean:6.3f} ms  ({len(took)} calls)")
    ratio = statistics.fmean(times[OURS]) / statistics.fmean(times[BARE])
    p50_ratio = statistics.median(times[OURS]) / statistics.median(times[BARE])
    verdict = "meets" if ratio <= TARGET else "misses"
    print(
        f"ours / bare: {ratio:.2f}× mean, {p50_ratio:.2f}× p50 ({verdict} the ≤ {TARGET}× target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
