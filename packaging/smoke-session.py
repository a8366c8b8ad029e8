#!/usr/bin/env python3
"""Drive an installed aurora-dsql-mcp-rs entry point as an MCP client would, over stdio: initialize,
notifications/initialized, tools/list, tools/call readonly_query (local mode), then close stdin and expect exit 0.
Stdlib only. Usage: smoke-session.py SANDBOX_DIR COMMAND [ARGS...]  (the server gets --local=SANDBOX_DIR appended)."""

import json
import subprocess
import sys
import threading
import queue

# A safety net against a hung server, not a synchronisation device: every read waits for one specific message.
READ_LIMIT = 120


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sandbox, command = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(command + [f"--local={sandbox}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout] + [lines.put(None)], daemon=True).start()

    def send(msg):
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()

    def request(id_, method, params):
        send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
        while True:
            line = lines.get(timeout=READ_LIMIT)
            if line is None:
                sys.exit(f"FAIL: the server closed stdout before answering {method}")
            msg = json.loads(line)  # stdout must carry only MCP
            if msg.get("id") == id_ and ("result" in msg or "error" in msg):
                if "error" in msg:
                    sys.exit(f"FAIL: {method}: {msg['error']}")
                return msg["result"]

    init = request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "packaging-smoke", "version": "0"}})
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    tools = [t["name"] for t in request(2, "tools/list", {})["tools"]]
    for name in ("readonly_query", "transact", "get_schema", "dsql_lint"):
        if name not in tools:
            sys.exit(f"FAIL: tools/list lacks {name}: {tools}")
    result = request(3, "tools/call", {"name": "readonly_query", "arguments": {"sql": "SELECT 41 + 1 AS answer"}})
    if result.get("isError") or result.get("structuredContent", {}).get("result") != [{"answer": 42}]:
        sys.exit(f"FAIL: readonly_query: {result}")
    proc.stdin.close()
    code = proc.wait(timeout=READ_LIMIT)
    if code != 0:
        sys.exit(f"FAIL: exit status {code} after stdin closed")
    info = init["serverInfo"]
    print(f"ok: {' '.join(command)}: {info['name']} {info.get('version', '')}, {len(tools)} tools, readonly_query -> 42")


if __name__ == "__main__":
    main()
