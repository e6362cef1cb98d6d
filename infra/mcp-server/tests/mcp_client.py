"""Drives an MCP server with the official Python SDK (mcp 2.x) as an AI assistant would.

    python mcp_client.py EXPECTATIONS.json -- COMMAND [ARG...]

starts COMMAND as a stdio MCP server (with this process's environment: the server's
configuration, e.g. SUPPORT_API_URL and SUPPORT_OPERATOR_TOKEN, is passed through), lists its
tools and resources, reads every resource, makes the calls EXPECTATIONS names in order and
prints a JSON report on stdout:

    {"protocol_version", "tools": [{"name", "description", "input_schema", "output_schema"}],
     "resources": [{"uri", "mime_type", "text"}],
     "calls": [{"tool", "arguments", "is_error", "text", "structured"}]}

EXPECTATIONS (JSON):

    {"tools": ["name", ...],              # each must be listed
     "resources": ["uri", ...],           # each must be listed and readable
     "calls": [{"tool": "...", "arguments": {...},
                "is_error": false,        # optional: what the result must say
                "structured": {...},      # optional: must be contained in structured_content
                "text_contains": "..."}]} # optional: in the result's text

Mismatches are listed on stderr and the exit code is 1 (the report is printed anyway).
"""

import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters


def contains(actual, expected):
    """Whether `expected` is a part of `actual`: objects by their named keys, lists element by
    element (same length), anything else equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected))
        )
    return actual == expected


def text_of(content):
    return "\n".join(block.text for block in content if getattr(block, "type", None) == "text")


async def run(expectations, command):
    report = {"tools": [], "resources": [], "calls": []}
    failures = []
    # The SDK passes only a few safe variables to the server unless told otherwise.
    server = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    async with Client(server, mode="auto") as client:
        report["protocol_version"] = client.session.protocol_version
        for tool in (await client.list_tools()).tools:
            report["tools"].append(
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.input_schema,
                    "output_schema": tool.output_schema,
                }
            )
        listed = {t["name"] for t in report["tools"]}
        failures += [f"tool {name} is not listed" for name in expectations.get("tools", []) if name not in listed]

        for resource in (await client.list_resources()).resources:
            read = await client.read_resource(resource.uri)
            for contents in read.contents:
                report["resources"].append(
                    {"uri": str(contents.uri), "mime_type": contents.mime_type, "text": getattr(contents, "text", None)}
                )
        uris = {r["uri"] for r in report["resources"]}
        failures += [f"resource {uri} is not readable" for uri in expectations.get("resources", []) if uri not in uris]

        for n, call in enumerate(expectations.get("calls", [])):
            result = await client.call_tool(call["tool"], call.get("arguments", {}))
            outcome = {
                "tool": call["tool"],
                "arguments": call.get("arguments", {}),
                "is_error": bool(result.is_error),
                "text": text_of(result.content),
                "structured": result.structured_content,
            }
            report["calls"].append(outcome)
            where = f"call {n} ({call['tool']})"
            if "is_error" in call and outcome["is_error"] != call["is_error"]:
                failures.append(f"{where}: is_error {outcome['is_error']}, expected {call['is_error']}: {outcome['text']}")
            if "structured" in call and not contains(outcome["structured"], call["structured"]):
                failures.append(f"{where}: structured content {outcome['structured']} lacks {call['structured']}")
            if "text_contains" in call and call["text_contains"] not in outcome["text"]:
                failures.append(f"{where}: text {outcome['text']!r} lacks {call['text_contains']!r}")
    return report, failures


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        expectations = json.load(f)
    report, failures = asyncio.run(run(expectations, argv[3:]))
    print(json.dumps(report))
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
