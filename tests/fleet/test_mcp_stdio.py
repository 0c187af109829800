"""The MCP server through its protocol: spawn ``apigrade mcp``, JSON-RPC over stdio."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import APIGRADE, serve_targets, tiny_app  # noqa: E402

pytestmark = pytest.mark.fleet


class McpClient:
    """A minimal JSON-RPC client over a subprocess's stdin/stdout (one JSON message a line)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [APIGRADE, "mcp", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None,
                timeout: float = 30) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        while True:
            answer = json.loads(self.lines.get(timeout=timeout))
            if answer.get("id") == self.next_id:
                return answer

    def close(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read() if self.proc.stderr else ""


def _call(client: McpClient, name: str, **arguments: Any) -> dict[str, Any]:
    answer = client.request("tools/call", {"name": name, "arguments": arguments}, timeout=60)
    assert "result" in answer, answer
    return answer["result"]


def test_initialize_list_tools_scan_get_list(tmp_path: Path) -> None:
    with serve_targets(1, lambda i: tiny_app("mcp", grade_f=True)) as (url,):
        client = McpClient("--allow", "127.0.0.1", "--db", f"sqlite:///{tmp_path / 'm.sqlite'}",
                           "--max-requests", "60")
        try:
            init = client.request("initialize", {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "pytest", "version": "1"},
            })
            assert init["result"]["serverInfo"]["name"] == "apigrade"
            client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

            tools = client.request("tools/list")["result"]["tools"]
            assert {t["name"] for t in tools} == {"scan", "get", "list"}
            scan_tool = next(t for t in tools if t["name"] == "scan")
            assert scan_tool["inputSchema"]["required"] == ["url"]

            result = _call(client, "scan", url=url)
            assert not result.get("isError") and not result.get("is_error"), result
            summary = result["structuredContent"]
            assert summary["target"] == url and summary["grade"] in "ABCDF"
            assert json.loads(result["content"][0]["text"])["scan_id"] == summary["scan_id"]

            got = _call(client, "get", scan_id=summary["scan_id"])["structuredContent"]
            assert got["status"] == "completed"
            assert got["report"]["score"] == summary["score"]

            listed = _call(client, "list")["structuredContent"]["scans"]
            assert [s["scan_id"] for s in listed] == [summary["scan_id"]]

            refused = _call(client, "scan", url="http://10.1.2.3/")
            assert refused.get("isError") is True
            assert "not allowed" in refused["content"][0]["text"]

            missing = _call(client, "get", scan_id="0" * 32)
            assert missing.get("isError") is True
        finally:
            stderr = client.close()
    assert "Traceback" not in stderr
