#!/usr/bin/python3
"""Structured outputs, checked by an independent validator: real models (the repository's demo
model, stories260K from ../shared) and random-weight models (F32 and Q4_K) sample at temperature
1 under every response_format in schema_outputs_cases.json; every output must finish by itself
(finish_reason "stop", not "length"), parse as strict JSON (no NaN/Infinity, no duplicate keys,
valid UTF-8) and validate against its schema with python3-jsonschema (Draft 2020-12), or be an
object for json_object. Every object output of an object schema must also list its properties in
the order the schema declares them (clients rely on it: "reasoning" before "answer").

  schema_outputs_test.py DRIVER CASES.json DEMO_MODEL SHARED_DIR [--choices N --seeds S]
                         [--serve TANDEM_BINARY]

DRIVER is schema_outputs_driver (the server's request path, in process: body parser, request
validation, LocalBackend, scheduler). With --serve, the demo model is also served by the real
`tandem serve` and every case is sent over HTTP (one request per case, n choices) and checked
the same way. stories260K is skipped with a note when SHARED_DIR has no test data; the other
models always run. Exit 0 when every output is valid and at least MIN_TOTAL were checked.
"""
import argparse
import collections
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import jsonschema  # Debian python3-jsonschema
from importlib import metadata

MIN_TOTAL = 300  # the evidence the issue asks for: hundreds of generations, all valid


class DuplicateKey(ValueError):
    pass


DUPLICATES = []  # json_object outputs with a repeated name (valid JSON, reported)


def strict_loads(text):
    def no_constant(name):
        raise ValueError("non-JSON constant " + name)

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise DuplicateKey()
        return dict(pairs)

    return json.loads(text, parse_constant=no_constant, object_pairs_hook=no_duplicates)


def schema_of(response_format):
    if response_format["type"] == "json_object":
        return {"type": "object"}
    return response_format["json_schema"]["schema"]


TRUNCATED = "truncated"


def check_choice(rec, schema, unbounded):
    """Returns a reason string when the choice is not a valid structured output, else None.
    TRUNCATED: an unbounded format (json_object) ran out of max_tokens before closing."""
    if not rec["finished"]:
        return "no finish event"
    if not rec["valid_utf8"]:
        return "content is not valid UTF-8"
    if rec["finish_reason"] == "length" and unbounded:
        return TRUNCATED
    if rec["finish_reason"] != "stop":
        return "finish_reason " + rec["finish_reason"] + " (the JSON did not close within max_tokens)"
    try:
        value = strict_loads(rec["content"])
    except DuplicateKey:
        if not unbounded:  # schema objects never repeat a declared name
            return "duplicate key in object"
        # RFC 8259 allows repeated names and a grammar cannot exclude them in a free object.
        DUPLICATES.append(rec)
        value = json.loads(rec["content"])
    except ValueError as e:
        return "does not parse: %s" % e
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = [e.message for e in cls(schema).iter_errors(value)]
    if errors:
        return "invalid: " + "; ".join(errors[:3])
    return None


def declared_order_kept(value, schema):
    """For a top-level object schema with properties: do the output's keys come in the order the
    schema declares them (what OpenAI clients rely on, e.g. "reasoning" before "answer")? None
    when the question does not apply."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not props or not isinstance(value, dict) or len(value) < 2:
        return None
    declared = [k for k in props if k in value]
    return list(value) == declared


def serve_outputs(binary, model, cases, choices, max_tokens):
    """Runs `tandem serve MODEL` and sends each case once over HTTP; returns choice records."""
    proc = subprocess.Popen([binary, "serve", model, "--port", "0", "-t", "1", "-P", str(choices)],
                            stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.time() + 60
        while time.time() < deadline and port is None:
            line = proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            port = int(m.group(1)) if m else None
        if port is None:
            raise RuntimeError("tandem serve did not start")
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        records = []
        for name, rf in cases.items():
            body = {"model": re.sub(r"\.gguf$", "", os.path.basename(model)),
                    "messages": [{"role": "user", "content": "Describe a small event in JSON."}],
                    "response_format": rf, "temperature": 1.0, "seed": 77, "n": choices, "max_tokens": max_tokens}
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("POST", "/v1/chat/completions", body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = json.loads(r.read().decode())
            conn.close()
            if r.status != 200:
                raise RuntimeError("HTTP %d for %s: %s" % (r.status, name, data))
            for c in data["choices"]:
                records.append({"kind": "choice", "model": "demo (http)", "case": name, "seed": 77 + c["index"],
                                "content": c["message"]["content"], "finish_reason": c["finish_reason"],
                                "finished": True, "valid_utf8": True})
        return records
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("cases")
    ap.add_argument("demo_model")
    ap.add_argument("shared_dir")
    ap.add_argument("--choices", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=200)
    ap.add_argument("--keep", help="copy the generated JSONL here")
    ap.add_argument("--serve", help="tandem binary: also check the demo model over HTTP")
    a = ap.parse_args()

    with open(a.cases) as f:
        doc = json.load(f)["cases"]
    cases = {c["name"]: c["response_format"] for c in doc}
    unbounded = {c["name"] for c in doc if c.get("unbounded")}
    schemas = {name: schema_of(rf) for name, rf in cases.items()}
    for name, s in schemas.items():  # the schemas themselves must be valid JSON Schema
        jsonschema.validators.validator_for(s, default=jsonschema.Draft202012Validator).check_schema(s)

    models = ["demo=" + a.demo_model]
    stories = os.path.join(os.environ.get("TANDEM_SHARED_DIR", a.shared_dir), "testdata/models/stories260K.gguf")
    if os.path.exists(stories):
        models.append("stories260K=" + stories)
    else:
        print("note: %s not found (set TANDEM_SHARED_DIR); stories260K skipped" % stories)
    models += ["random-llama-f32=random:llama:F32", "random-qwen2-q4_k=random:qwen2:Q4_K"]

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "outputs.jsonl")
        cmd = [a.driver, "--cases", a.cases, "--out", out, "--tmp-dir", tmp, "--choices", str(a.choices),
               "--seeds", str(a.seeds), "--max-tokens", str(a.max_tokens), "--temperature", "1.0", *models]
        t0 = time.time()
        rc = subprocess.run(cmd).returncode
        elapsed = time.time() - t0
        with open(out) as f:
            records = [json.loads(line) for line in f]
        if a.keep:
            with open(a.keep, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in records)

    choices = [r for r in records if r["kind"] == "choice"]
    http_expected = 0
    if a.serve:
        http_expected = len(cases) * a.choices
        choices += serve_outputs(a.serve, a.demo_model, cases, a.choices, a.max_tokens)
    requests = [r for r in records if r["kind"] == "request"]
    per = collections.defaultdict(lambda: [0, 0])  # (model, case) -> [valid, total]
    failures = []
    truncated = collections.Counter()  # model -> unbounded outputs that ran out of tokens
    order = collections.Counter()  # True / False: declared property order kept
    for rec in choices:
        if rec["finish_reason"] == "stop" and rec["case"] not in unbounded:
            try:
                kept = declared_order_kept(json.loads(rec["content"]), schemas[rec["case"]])
                if kept is not None:
                    order[kept] += 1
                    if not kept and order[False] <= 5:
                        print("ORDER %s/%s seed %d: %r" % (rec["model"], rec["case"], rec["seed"],
                                                           rec["content"][:300]))
            except ValueError:
                pass
        reason = check_choice(rec, schemas[rec["case"]], rec["case"] in unbounded)
        key = (rec["model"], rec["case"])
        per[key][1] += 1
        if reason is None:
            per[key][0] += 1
        elif reason == TRUNCATED:
            truncated[rec["model"]] += 1
        else:
            failures.append((rec, reason))

    print("validator: jsonschema %s (Draft 2020-12)" % metadata.version("jsonschema"))
    for model in dict.fromkeys(r["model"] for r in choices):
        cells = ["%s %d/%d" % (case, *per[(model, case)]) for case in cases if (model, case) in per]
        print("%-20s %s" % (model, ", ".join(cells)))
    tokens = sum(r["completion_tokens"] for r in requests)
    bounded = [r for r in choices if r["case"] not in unbounded]
    bounded_failures = [f for f in failures if f[0]["case"] not in unbounded]
    print("bounded schemas: %d valid of %d; unbounded (%s): %d valid, %d ran out of max_tokens (%s), %d invalid"
          % (len(bounded) - len(bounded_failures), len(bounded), ", ".join(sorted(unbounded)),
             sum(per[k][0] for k in per if k[1] in unbounded), sum(truncated.values()),
             ", ".join("%s %d" % kv for kv in truncated.items()) or "none", len(failures) - len(bounded_failures)))
    # Not part of validity (JSON objects are unordered), but clients rely on it: a schema that puts
    # "reasoning" before "answer" must generate reasoning first. The server keeps the client's key
    # order, and the grammar generates properties in that order, so every object must keep it.
    print("order: %d of %d objects list their properties in the schema's declared order"
          % (order[True], order[True] + order[False]))
    if DUPLICATES:
        print("note: %d json_object output(s) repeat a name in an object (valid JSON per RFC 8259)" % len(DUPLICATES))
    valid = len(choices) - len(failures) - sum(truncated.values())
    print("outputs: %d valid of %d (%d models x %d schemas x %d seeds in process%s), %d failures, "
          "%d completion tokens in process, %.1f s"
          % (valid, len(choices), len(models), len(cases), a.choices * a.seeds,
             " + %d over HTTP" % http_expected if http_expected else "", len(failures), tokens, elapsed))
    for rec, reason in failures[:20]:
        print("FAIL %s/%s seed %d: %s\n     content: %r" % (rec["model"], rec["case"], rec["seed"], reason,
                                                           rec["content"][:300]))
    expected = len(models) * len(cases) * a.choices * a.seeds + http_expected
    if rc != 0:
        print("FAIL driver exited with status %d" % rc)
    if len(choices) != expected:
        print("FAIL expected %d outputs, got %d" % (expected, len(choices)))
    if len(choices) < MIN_TOTAL:
        print("FAIL fewer than %d outputs checked" % MIN_TOTAL)
    if order[False]:
        print("FAIL %d objects do not list their properties in the schema's declared order" % order[False])
    if not order[True]:
        print("FAIL no object output was checked for property order")
    ok = (rc == 0 and not failures and len(choices) == expected and len(choices) >= MIN_TOTAL
          and not order[False] and order[True] > 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
