#!/usr/bin/env python3
"""stall.py - how long a long prompt stalls a running stream (chunked prefill evidence).

Against a running `tandem serve` (or any OpenAI-compatible server): opens one streaming
completion, and once it is producing tokens, sends a second request whose prompt is
--long-words words long (tokens per word depend on the vocabulary: the synthetic
vocabularies of random-weight models split words into ~6 tokens). Reports the running stream's inter-token gaps before, during and
after the long prompt's prefill: with chunked prefill the worst gap is about one chunk's
compute, without it the whole prompt's.

  stall.py --url http://127.0.0.1:8080 --model NAME [--long-words 250] [--out FILE]
Pure standard library.
"""
import argparse
import json
import threading
import time
import urllib.request


def stream_gaps(url, body, marks):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    times = []
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            ev = json.loads(line[5:])
            if any(c.get("text") for c in ev.get("choices") or []):
                times.append(time.perf_counter())
                if len(times) == 8:
                    marks["streaming"].set()
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--model", required=True)
    ap.add_argument("--long-words", type=int, default=250)
    ap.add_argument("--stream-tokens", type=int, default=120)
    ap.add_argument("--label", default="")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    url = a.url.rstrip("/") + "/v1/completions"
    marks = {"streaming": threading.Event()}
    result = {}

    def runner():
        result["times"] = stream_gaps(url, {"model": a.model, "prompt": "Once upon a time", "max_tokens": a.stream_tokens,
                                            "temperature": 0, "stream": True, "logit_bias": {"2": -100}}, marks)

    t = threading.Thread(target=runner)
    t.start()
    marks["streaming"].wait(300)
    long_prompt = " ".join(["the cat sat on the mat"] * max(1, a.long_words // 6))
    t0 = time.perf_counter()
    body = {"model": a.model, "prompt": long_prompt, "max_tokens": 1, "temperature": 0}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        usage = json.loads(r.read()).get("usage", {})
    t1 = time.perf_counter()
    t.join()
    times = result["times"]
    gaps = [(times[i] - times[i - 1], times[i]) for i in range(1, len(times))]
    during = [g for g, at in gaps if t0 <= at <= t1 + 0.5]
    outside = [g for g, at in gaps if not (t0 <= at <= t1 + 0.5)]
    doc = {"label": a.label, "long_prompt_tokens": usage.get("prompt_tokens"), "long_prompt_seconds": round(t1 - t0, 3),
           "median_gap_outside_s": round(sorted(outside)[len(outside) // 2], 4) if outside else None,
           "max_gap_during_prefill_s": round(max(during), 3) if during else None,
           "tokens_streamed_during_prefill": len(during)}
    text = json.dumps(doc)
    print(text)
    if a.out != "-":
        with open(a.out, "a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
