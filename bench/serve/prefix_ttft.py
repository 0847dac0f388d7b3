#!/usr/bin/env python3
"""prefix_ttft.py - time to first token with and without a cached prompt prefix.

Against a running `tandem serve` (or any OpenAI-compatible server): sends streaming chat
completions that share one long system prompt (--system-tokens, default 1000, checked against the
server's own usage.prompt_tokens) and differ in the user question. The first request must prefill
the whole prompt; later ones can reuse the cached prefix. Reports each request's TTFT and the
ratio later/first (the serving issue's bar: <= 1/5).

  prefix_ttft.py --url http://127.0.0.1:8080 --model NAME [--system-tokens 1000] [--repeats 3]
Pure standard library. Rounds: a fresh system prompt per round (a random tag in front), so every
round's first request is a true miss.
"""
import argparse
import json
import random
import statistics
import sys
import time
import urllib.request

WORDS = ("river stone light garden window morning letter market winter paper engine silver "
         "harbor forest candle bridge music summer doctor island castle kitchen mountain ocean "
         "teacher village thunder meadow lantern orchard").split()


def chat(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    ttft = None
    usage = None
    with urllib.request.urlopen(req, timeout=900) as r:
        for raw in r:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            ev = json.loads(line[5:])
            if ev.get("usage"):
                usage = ev["usage"]
            for c in ev.get("choices") or []:
                if ttft is None and (c.get("delta") or {}).get("content"):
                    ttft = time.perf_counter() - t0
    return ttft, usage


def system_prompt(rng, n_words):
    return f"[{rng.randrange(1 << 30)}] You are a helpful assistant. Notes: " + " ".join(
        rng.choice(WORDS) for _ in range(n_words))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--model", required=True)
    ap.add_argument("--system-tokens", type=int, default=1000)
    ap.add_argument("--followups", type=int, default=2, help="requests after the first, per round")
    ap.add_argument("--repeats", type=int, default=3, help="rounds, each with a new system prompt")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    url = a.url.rstrip("/") + "/v1/chat/completions"
    rng = random.Random(7)

    def body(system, question):
        return {"model": a.model, "stream": True, "stream_options": {"include_usage": True},
                "max_tokens": 4, "temperature": 0,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}]}

    # Size the system prompt in the server's own tokens: grow the word count until it is enough.
    words = a.system_tokens // 2
    while True:
        _, usage = chat(url, body(system_prompt(rng, words), "size check"))
        if usage["prompt_tokens"] >= a.system_tokens:
            break
        words = int(words * a.system_tokens / max(usage["prompt_tokens"], 1)) + 8
    rounds = []
    for _ in range(a.repeats):
        system = system_prompt(rng, words)
        first, u = chat(url, body(system, "What is the first note?"))
        later = [chat(url, body(system, f"Question {i}: what is note {i + 2}?"))[0] for i in range(a.followups)]
        rounds.append({"prompt_tokens": u["prompt_tokens"], "first_ttft_s": round(first, 4),
                       "later_ttft_s": [round(t, 4) for t in later],
                       "ratio": round(statistics.mean(later) / first, 4)})
        print(f"prompt {u['prompt_tokens']} tokens: first TTFT {first:.3f} s, later "
              f"{', '.join(f'{t:.3f}' for t in later)} s, ratio {rounds[-1]['ratio']:.3f}", file=sys.stderr)
    doc = {"url": a.url, "model": a.model, "system_tokens_target": a.system_tokens, "rounds": rounds,
           "median_ratio": statistics.median(r["ratio"] for r in rounds)}
    text = json.dumps(doc, indent=1)
    if a.out == "-":
        print(text)
    else:
        open(a.out, "w").write(text + "\n")
    print(f"median later/first TTFT ratio: {doc['median_ratio']:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
