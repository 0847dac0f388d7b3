#!/usr/bin/env python3
"""End-to-end tests of `tandem serve` on a real model (stories260K): the real binary, real
sockets, the standard library's HTTP client.

  serve_e2e.py TANDEM_BINARY MODEL.gguf

Checks: each request's text is the same alone and among 8 concurrent ones (greedy); streaming
SSE carries the same text and ends in [DONE]; a prompt longer than the context is a 400 naming
the limit; a full queue is a 429 with Retry-After; a client that disconnects frees its sequence
(KV cells back to 0 on /metrics); SIGTERM drains: the in-flight request completes, exit 0.
Exit status 0 when every check passed.
"""
import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


class Server:
    def __init__(self, binary, model, *args):
        self.proc = subprocess.Popen([binary, "serve", model, "--port", "0", "-t", "1", *args],
                                     stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            raise RuntimeError("tandem serve did not start")
        self.model = re.sub(r"\.gguf$", "", model.rsplit("/", 1)[-1])
        # Keep draining stderr so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def request(self, method, path, body=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read().decode()
        conn.close()
        return r.status, dict(r.getheaders()), data

    def complete(self, prompt, max_tokens, **extra):
        body = {"model": self.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "seed": 1}
        body.update(extra)
        return self.request("POST", "/v1/completions", body)

    def metric(self, name):
        _, _, text = self.request("GET", "/metrics")
        m = re.search(r"^" + re.escape(name) + r" ([0-9.e+-]+)$", text, re.M)
        return float(m.group(1)) if m else None

    def raw_stream(self, body):
        """Opens a streaming request on a raw socket and returns the socket."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        payload = json.dumps(body).encode()
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        return s

    def stop(self, sig=signal.SIGTERM, timeout=60):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


PROMPTS = ["Once upon a time", "Tom and Sue went to", "The little dog", "One day, a bird",
           "Lily wanted to", "The sun was", "Ben had a red", "In the park there was"]


def test_batching(srv):
    alone = [json.loads(srv.complete(p, 40)[2])["choices"][0]["text"] for p in PROMPTS]
    together = [None] * len(PROMPTS)

    def run(i):
        together[i] = json.loads(srv.complete(PROMPTS[i], 40)[2])["choices"][0]["text"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    same = sum(1 for a, b in zip(alone, together) if a == b)
    check(same == len(PROMPTS), f"8 concurrent requests give the texts they give alone ({same}/8)")
    check(alone[0].startswith(", there was a little girl named Lily"), "stories260K continues as expected")


def test_streaming(srv):
    _, _, whole = srv.complete("Once upon a time", 24)
    expected = json.loads(whole)["choices"][0]["text"]
    s = srv.raw_stream({"model": srv.model, "prompt": "Once upon a time", "max_tokens": 24,
                        "temperature": 0, "stream": True, "stream_options": {"include_usage": True}})
    data = b""
    while b"data: [DONE]" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    check(b"text/event-stream" in head, "streaming answers text/event-stream")
    text, usage = "", None
    for m in re.finditer(rb"data: (\{.*?\})\r?\n", body):
        ev = json.loads(m.group(1))
        for ch in ev.get("choices") or []:
            text += ch.get("text") or ""
        usage = ev.get("usage") or usage
    check(text == expected, "streamed text equals the non-streamed text")
    check(b"data: [DONE]" in body, "stream ends with [DONE]")
    check(usage is not None and usage.get("completion_tokens") == 24, "stream reports usage")


def test_too_long(srv):
    status, _, body = srv.complete("hello there " * 400, 4)
    check(status == 400, f"over-long prompt is a 400 (got {status})")
    check("context holds 512" in body, "the 400 names the context limit")


def wait_metric(srv, name, value, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if srv.metric(name) == value:
            return True
        time.sleep(0.005)
    return False


def test_queue_full_and_cancel(binary, model):
    srv = Server(binary, model, "-P", "1", "--max-queue", "1", "--prefix-cache", "0")
    try:
        # A client that stops reading holds the only slot (its sequence pauses on the full
        # buffer); one request waits; the next finds the queue full. On a very fast machine the
        # holder could finish before the queue is observed full: then try again.
        for attempt in range(3):
            running = srv.raw_stream({"model": srv.model, "prompt": "Once upon a time", "max_tokens": 450,
                                      "temperature": 0.8, "stream": True, "logprobs": 5})
            running.recv(1024)
            queued_result = {}
            q = threading.Thread(target=lambda: queued_result.update(r=srv.complete("The sun was", 4)))
            if wait_metric(srv, "tandem_requests_running", 1):
                q.start()
                if wait_metric(srv, "tandem_queue_depth", 1):
                    break
            running.close()
            if q.is_alive() or q.ident:
                q.join(timeout=30)
        status, headers, body = srv.complete("The dog", 4)
        check(status == 429, f"a full queue answers 429 (got {status})")
        check("retry-after" in {k.lower() for k in headers}, "429 carries Retry-After")
        running.close()  # client gone: its sequence must be freed, the queued request then runs
        q.join(timeout=30)
        check(queued_result.get("r", (0,))[0] == 200, "the queued request completes after the cancel")
        check(wait_metric(srv, "tandem_kv_cache_used_cells", 0, 5), "the cancelled sequence's KV cells are freed")
    finally:
        srv.stop(signal.SIGKILL)


def test_prefix_cache(srv):
    prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside. " * 3
    _, _, first = srv.complete(prompt, 16)
    _, _, second = srv.complete(prompt, 16)
    f, s = json.loads(first), json.loads(second)
    cached = ((s.get("usage") or {}).get("prompt_tokens_details") or {}).get("cached_tokens")
    check(f["choices"][0]["text"] == s["choices"][0]["text"], "a repeated prompt gives the same text")
    check(cached == s["usage"]["prompt_tokens"] - 1,
          f"the repeat reuses all but the last prompt token from the prefix cache ({cached})")


def test_drain(srv):
    # A streamed request whose first event has arrived is certainly in flight (a plain request
    # could still be on its way when the signal lands, and a new connection is then refused).
    sock = srv.raw_stream({"model": srv.model, "prompt": "Once upon a time", "max_tokens": 300,
                           "temperature": 0, "stream": True,
                           "stream_options": {"include_usage": True}})
    data = b""
    while b"data:" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    code = srv.stop(signal.SIGTERM)
    while b"data: [DONE]" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    # The body is HTTP/1.1 chunked: read the usage numbers from the raw bytes, not line by line.
    usage = re.findall(rb'"completion_tokens":\s*(\d+)', data)
    check(b"data: [DONE]" in data and usage and int(usage[-1]) == 300,
          f"SIGTERM lets the in-flight request finish (completion_tokens {usage[-1:] or 'missing'})")
    check(code == 0, f"tandem serve exits 0 after draining (got {code})")


def main():
    binary, model = sys.argv[1], sys.argv[2]
    try:
        open(model, "rb").close()
    except OSError:
        print(f"shared test model {model} not found; skipping")
        return 77
    srv = Server(binary, model, "-P", "8")
    try:
        test_batching(srv)
        test_streaming(srv)
        test_too_long(srv)
        test_prefix_cache(srv)
        test_drain(srv)
    finally:
        if srv.proc.poll() is None:
            srv.stop(signal.SIGKILL)
    test_queue_full_and_cancel(binary, model)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
