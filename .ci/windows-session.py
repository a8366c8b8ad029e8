#!/usr/bin/env python3
"""Drive the Windows build (under Wine) as an MCP client would, over stdio, and check every answer:
initialize, notifications/initialized, tools/list, dsql_lint, a documentation search, and readonly_query through
--database-url against the PostgreSQL the CI step started (it reads a row the step wrote there, so the answer can
only come from that database). Then close stdin and expect exit 0. Finally start the server with --local and expect
the refusal (exit 2, naming --database-url), and the same refusal from the one-shot `call … --local`. Stdlib only.

Usage: windows-session.py DATABASE_URL MARKER COMMAND [ARGS...]
  MARKER: the text in ci_marker.v that readonly_query must read back."""

import json
import subprocess
import sys
import threading
import queue

# A safety net against a hung server, not a synchronisation device: every read waits for one specific message.
# Generous: the first start of a Wine process can take a while.
READ_LIMIT = 180


def fail(msg):
    sys.exit(f"windows: FAIL: {msg}")


def session(url, marker, command):
    proc = subprocess.Popen(command + [f"--database-url={url}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, encoding="utf-8")
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout] + [lines.put(None)], daemon=True).start()

    def send(msg):
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()

    def request(id_, method, params):
        send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
        while True:
            try:
                line = lines.get(timeout=READ_LIMIT)
            except queue.Empty:
                proc.kill()
                fail(f"no answer to {method} within {READ_LIMIT} s")
            if line is None:
                fail(f"the server closed stdout before answering {method} (exit status {proc.wait()})")
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                fail(f"stdout carried a line that is not MCP: {line!r}")
            if msg.get("id") == id_ and ("result" in msg or "error" in msg):
                if "error" in msg:
                    fail(f"{method}: {msg['error']}")
                return msg["result"]

    def call(id_, name, arguments):
        result = request(id_, "tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            fail(f"{name} returned an error: {result}")
        return result

    init = request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "windows-ci", "version": "0"}})
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    tools = [t["name"] for t in request(2, "tools/list", {})["tools"]]
    for name in ("readonly_query", "transact", "get_schema", "dsql_lint", "dsql_search_documentation"):
        if name not in tools:
            fail(f"tools/list lacks {name}: {tools}")

    # dsql_lint: SERIAL is not supported by DSQL, so the linter must report it.
    lint = call(3, "dsql_lint", {"sql": "CREATE TABLE t (id SERIAL PRIMARY KEY)"})
    lint_text = json.dumps(lint)
    if "serial" not in lint_text.lower() or "diagnostics" not in lint_text:
        fail(f"dsql_lint did not report SERIAL: {lint_text[:800]}")

    # The documentation tools read the guides compiled into the binary.
    docs = call(4, "dsql_search_documentation", {"search_phrase": "optimistic concurrency", "limit": 3})
    if "dsql" not in json.dumps(docs).lower():
        fail(f"dsql_search_documentation found nothing: {json.dumps(docs)[:800]}")

    # --database-url: a query over TCP to the step's PostgreSQL, reading the row it wrote.
    query = call(5, "readonly_query", {"sql": "SELECT v, 41 + 1 AS answer FROM ci_marker"})
    rows = query.get("structuredContent", {}).get("result")
    if rows != [{"v": marker, "answer": 42}]:
        fail(f"readonly_query through --database-url returned {rows!r}, expected [{{'v': {marker!r}, 'answer': 42}}]")

    proc.stdin.close()
    try:
        code = proc.wait(timeout=READ_LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("the server did not exit after stdin closed")
    if code != 0:
        fail(f"exit status {code} after stdin closed")
    info = init["serverInfo"]
    print(f"windows: ok: {info['name']} {info.get('version', '')} under Wine: initialize, {len(tools)} tools, "
          f"dsql_lint reported SERIAL, documentation search, readonly_query over --database-url read {rows[0]}")


def local_mode_is_refused(command):
    out = subprocess.run(command + ["--local"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=READ_LIMIT)
    if out.returncode != 2 or "--database-url" not in out.stderr or out.stdout:
        fail(f"--local should be refused with exit 2 naming --database-url and nothing on stdout; got exit "
              f"{out.returncode}, stdout {out.stdout!r}, stderr {out.stderr[-800:]!r}")
    # The one-shot form reaches the sandbox by another path (no startup check): it must refuse with the same words.
    out = subprocess.run(command + ["call", "readonly_query", '{"sql":"SELECT 1"}', "--local"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=READ_LIMIT)
    if out.returncode == 0 or "--database-url" not in out.stdout + out.stderr:
        fail(f"`call … --local` should fail naming --database-url; got exit {out.returncode}, stdout "
             f"{out.stdout[-800:]!r}, stderr {out.stderr[-800:]!r}")
    print(f"windows: ok: --local refused at startup (exit 2) and by `call` (exit {out.returncode}), naming --database-url")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    url, marker, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    session(url, marker, command)
    local_mode_is_refused(command)


if __name__ == "__main__":
    main()
