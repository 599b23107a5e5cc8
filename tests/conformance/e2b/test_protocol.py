"""Raw wire checks (no SDK) of the framing details the SDK depends on.

These pin down *why* an SDK-level test fails: Connect content types, the
error JSON shape, and streaming envelopes incl. the end-of-stream message.
"""

import http.client
import json
import struct
import urllib.parse

PORT = 49983


def _request(method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=15)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("content-type", ""), resp.read()
    finally:
        conn.close()


def _unary(method, msg):
    return _request(
        "POST",
        f"/{method}",
        json.dumps(msg).encode(),
        {"Content-Type": "application/json", "Connect-Protocol-Version": "1"},
    )


def _envelope(msg, flags=0):
    data = json.dumps(msg).encode()
    return struct.pack(">BI", flags, len(data)) + data


def _parse_envelopes(body):
    out, i = [], 0
    while i < len(body):
        assert len(body) - i >= 5, f"truncated envelope header at {i}: {body[i:]!r}"
        flags, n = struct.unpack(">BI", body[i : i + 5])
        payload = body[i + 5 : i + 5 + n]
        assert len(payload) == n, "truncated envelope payload"
        out.append((flags, json.loads(payload)))
        i += 5 + n
    return out


def _stream(method, msg):
    return _request(
        "POST",
        f"/{method}",
        _envelope(msg),
        {
            "Content-Type": "application/connect+json",
            "Connect-Protocol-Version": "1",
            "Connect-Timeout-Ms": "10000",
        },
    )


def _ctype(value):
    return value.split(";")[0].strip().lower()


def test_health(envd):
    status, _, _ = _request("GET", "/health")
    assert 200 <= status < 300


def test_unary_success_is_application_json(envd):
    status, ctype, body = _unary("process.Process/List", {})
    assert status == 200
    assert _ctype(ctype) == "application/json"
    assert isinstance(json.loads(body), dict)


def test_unary_error_shape(envd, work):
    status, ctype, body = _unary(
        "filesystem.Filesystem/Stat", {"path": work.p("missing")}
    )
    assert status == 404
    assert _ctype(ctype) == "application/json"
    err = json.loads(body)
    assert err.get("code") == "not_found"
    assert isinstance(err.get("message"), str)


def test_unary_already_exists_shape(envd, work):
    status, ctype, body = _unary("filesystem.Filesystem/MakeDir", {"path": work.path})
    assert status == 409
    assert _ctype(ctype) == "application/json"
    assert json.loads(body).get("code") == "already_exists"


def test_server_stream_framing(envd):
    status, ctype, body = _stream(
        "process.Process/Start",
        {"process": {"cmd": "/bin/bash", "args": ["-l", "-c", "echo framed"]}, "stdin": False},
    )
    assert status == 200
    assert _ctype(ctype) == "application/connect+json"
    envs = _parse_envelopes(body)
    assert envs, "empty stream"
    data_msgs = [m for f, m in envs if not f & 0x02]
    end_msgs = [(f, m) for f, m in envs if f & 0x02]
    assert not any(f & 0x01 for f, _ in envs), "compressed envelope"
    # first message must be the start event carrying the pid
    assert "start" in data_msgs[0]["event"], data_msgs[0]
    assert int(data_msgs[0]["event"]["start"]["pid"]) > 0
    ends = [m["event"]["end"] for m in data_msgs if "end" in m.get("event", {})]
    assert len(ends) == 1
    assert int(ends[0].get("exitCode", ends[0].get("exit_code", 0))) == 0
    # exactly one end-of-stream envelope, last, without an error
    assert len(end_msgs) == 1 and envs[-1][0] & 0x02
    assert "error" not in end_msgs[0][1]


def test_server_stream_error(envd):
    status, ctype, body = _stream(
        "process.Process/Connect", {"process": {"pid": 999_999}}
    )
    if status == 200:
        assert _ctype(ctype) == "application/connect+json"
        envs = _parse_envelopes(body)
        flags, last = envs[-1]
        assert flags & 0x02
        assert last["error"]["code"] == "not_found"
    else:
        assert status == 404
        assert _ctype(ctype) == "application/json"
        assert json.loads(body)["code"] == "not_found"


def test_files_error_body_has_message(envd, work):
    q = urllib.parse.urlencode({"path": work.p("missing.txt")})
    status, ctype, body = _request("GET", f"/files?{q}")
    assert status == 404
    assert _ctype(ctype) == "application/json"
    assert isinstance(json.loads(body).get("message"), str)
