"""``wrk`` (a C load generator, ``apt-get install wrk``) sending GraphQL lookups, one value
of a list per request: the load of ``profile_query.py`` and its hot run's fill."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import orjson

__all__ = ["run_wrk"]

# Each of wrk's two threads takes every other value (no two threads ask the same one in a
# row; with one client, one thread takes them all); ``unique`` adds a request number to the
# variables, which makes every body a new one.
_WRK_SCRIPT = """
local query = {QUERY}
local values = {VALUES}
local unique = {UNIQUE}
local threads = 0
local counter = 0
function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end
function init(args)
  counter = first
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {KEY}"
{CLOSE}
request = function()
  counter = counter + {THREADS}
  local extra = unique and (',"request":"{RUN}-' .. counter .. '"') or ""
  local body = '{"query":' .. query .. ',"variables":{"value":' .. values[(counter % #values) + 1] .. extra .. '}}'
  return wrk.format(nil, nil, nil, body)
end
"""


def _ms(text: str) -> float:
    number = float(text.rstrip("usm"))
    if text.endswith("us"):
        return number / 1000
    if text.endswith("ms"):
        return number
    return number * 1000 if text.endswith("s") else number


def _lua(value: object) -> str:
    return orjson.dumps(orjson.dumps(value).decode()).decode()


def run_wrk(
    url: str,
    query: str,
    key: str,
    values: list[str],
    clients: int,
    seconds: float,
    folder: Path,
    unique: bool,
    close: bool = False,
) -> tuple[float, float, float, int]:
    """req/s, p50 ms, p99 ms and non-2xx answers of ``seconds`` of wrk POSTing ``query``
    with its variable ``value`` taken from ``values`` in turn, as the API key ``key``'s
    caller (wrk in its own process: the client's cost stays off the server's interpreter;
    its script is written in ``folder``). ``close``: a new connection for every request
    (else each of ``clients`` is kept alive)."""
    script, threads = folder / "bodies.lua", min(2, clients)
    script.write_text(
        _WRK_SCRIPT.replace("{QUERY}", _lua(query))
        .replace("{VALUES}", "{" + ",".join(_lua(v) for v in values) + "}")
        .replace("{UNIQUE}", "true" if unique else "false")
        .replace("{THREADS}", str(threads))
        .replace("{KEY}", key)
        .replace("{CLOSE}", 'wrk.headers["Connection"] = "close"' if close else "")
        .replace("{RUN}", f"{time.time_ns()}")  # a body of no earlier run either
    )
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", str(script)]
        + [url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = [re.search(rf"^\s*{w}\s+(\S+)", out, re.M) for w in ("Requests/sec:", "50%", "99%")]
    if not all(found):
        raise RuntimeError(f"wrk said:\n{out}")
    rate, p50, p99 = float(found[0].group(1)), _ms(found[1].group(1)), _ms(found[2].group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, int(errors.group(1)) if errors else 0
