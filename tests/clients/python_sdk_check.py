#!/usr/bin/env python3
"""End-to-end check with the official MCP Python SDK (pip install mcp): list the tools of the real server and
call readonly_query in local mode. Usage: python_sdk_check.py SERVER_BINARY SANDBOX_DIR"""
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client

EXPECTED = {"readonly_query", "transact", "get_schema", "dsql_lint",
            "dsql_search_documentation", "dsql_read_documentation", "dsql_recommend"}


async def main(binary, sandbox):
    params = StdioServerParameters(command=binary, args=[f"--local={sandbox}"], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.server_info.name == "aurora-dsql-mcp-server", init.server_info
            tools = await session.list_tools()
            names = {t.name for t in tools.tools}
            missing = EXPECTED - names
            assert not missing, f"tools missing from tools/list: {sorted(missing)}"
            res = await session.call_tool("readonly_query", {"sql": "SELECT 41 + $1::int AS answer", "params": [1]})
            assert not res.is_error, res
            assert res.structured_content["result"] == [{"answer": 42}], res.structured_content
            bad = await session.call_tool("readonly_query", {"sql": ""})
            assert bad.is_error, bad
            print(json.dumps({"tools": sorted(names), "answer": res.structured_content["result"]}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
