"""Port URLs: `capsule.get_url(port)` and the host-routed port proxy
(contract §2 "Port URLs", §6.5, §11.10).

`get_url` is pure SDK (the URL shape the server's proxy must route). The
proxy round trip serves a file with `python3 -m http.server` inside a
`python` capsule and fetches it through `{port}-{id}.localhost:<port>` with
the `X-API-Key` header (conftest resolves `*.localhost` to 127.0.0.1).
"""

import time

import httpx

def test_get_url_names_port_capsule_and_proxy_domain(capsule, server):
    url = capsule.get_url(8080)
    assert url == f"http://8080-{capsule.capsule_id}.{server.proxy_domain}"
    assert httpx.URL(url).host == f"8080-{capsule.capsule_id}.localhost"


def _fetch_until_served(url: str, api_key: str, timeout: float = 30.0) -> httpx.Response:
    """GET `url`, retrying while the proxy answers 5xx or cannot connect."""
    deadline = time.monotonic() + timeout
    last = None
    with httpx.Client(headers={"X-API-Key": api_key}, timeout=10, trust_env=False) as http:
        while True:
            try:
                last = http.get(url)
                if last.status_code < 500:
                    return last
            except httpx.TransportError as e:
                last = e
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} not served within {timeout}s; last: {last!r}")
            time.sleep(0.5)


def test_http_server_in_capsule_is_reachable_through_get_url(python_capsule, server):
    c = python_capsule
    c.files.write("/srv/www/hello.txt", "hello through the proxy\n")
    c.commands.run(
        "python3 -m http.server 8000 --bind 0.0.0.0 --directory /srv/www",
        background=True,
        tag="http-server",
    )
    resp = _fetch_until_served(f"{c.get_url(8000)}/hello.txt", server.api_key)
    assert resp.status_code == 200
    assert resp.text == "hello through the proxy\n"


def test_proxy_answers_5xx_while_the_port_is_not_listening(capsule, server):
    # 5xx (not 4xx) lets clients such as the code runner retry (§6.5).
    with httpx.Client(headers={"X-API-Key": server.api_key}, timeout=10, trust_env=False) as http:
        resp = http.get(capsule.get_url(8009) + "/")
    assert 500 <= resp.status_code < 600


def test_proxy_requires_the_api_key(capsule):
    with httpx.Client(timeout=10, trust_env=False) as http:
        resp = http.get(capsule.get_url(8009) + "/")
    assert resp.status_code in (401, 403)
