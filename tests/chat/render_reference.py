#!/usr/bin/python3
"""Renders chat templates with Python's Jinja2 the way Hugging Face transformers'
apply_chat_template does, to produce the reference tandem's interpreter must match byte for byte.

Environment as in transformers: ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True) with the loopcontrols extension, tojson overridden by json.dumps with
ensure_ascii=False, and raise_exception / strftime_now globals. strftime_now uses
TANDEM_FIXED_DATE (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS) when set.

usage: render_reference.py CASES_JSON TEMPLATE.jinja OUT_DIR
       render_reference.py --snippets SNIPPETS_JSON OUT_DIR
Writes OUT_DIR/<case>.out (the rendered text, UTF-8) or OUT_DIR/<case>.err
("<ExceptionType>: <message>") for every case (or every snippet: a small template with its
own context, compiled and rendered on its own).
"""
import datetime
import json
import os
import sys

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    fixed = os.environ.get("TANDEM_FIXED_DATE")
    now = datetime.datetime.fromisoformat(fixed) if fixed else datetime.datetime.now()
    return now.strftime(format)


def build_context(data, case):
    """Same defaults as the C++ test: HF passes tools/documents as None when absent."""
    context = {"bos_token": "<s>", "eos_token": "</s>", "tools": None, "documents": None}
    for key, value in case.items():
        if isinstance(value, str) and value.startswith("@"):
            value = data[value[1:]]
        context[key] = value
    return context


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def write_result(out_dir, name, render):
    for stale in (".out", ".err"):
        if os.path.exists(os.path.join(out_dir, name + stale)):
            os.remove(os.path.join(out_dir, name + stale))
    try:
        text = render()
    except Exception as e:  # every failure is a reference result too
        with open(os.path.join(out_dir, name + ".err"), "w", encoding="utf-8") as f:
            f.write(f"{type(e).__name__}: {e}")
        return
    with open(os.path.join(out_dir, name + ".out"), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def render_snippets(snippets_path, out_dir):
    with open(snippets_path, encoding="utf-8") as f:
        snippets = json.load(f)["snippets"]
    env = make_env()
    os.makedirs(out_dir, exist_ok=True)
    for name, snippet in snippets.items():
        write_result(out_dir, name, lambda: env.from_string(snippet["template"]).render(**snippet["context"]))


def main():
    if sys.argv[1] == "--snippets":
        render_snippets(sys.argv[2], sys.argv[3])
        return
    cases_path, template_path, out_dir = sys.argv[1:4]
    with open(cases_path, encoding="utf-8") as f:
        data = json.load(f)
    with open(template_path, encoding="utf-8") as f:
        source = f.read()
    env = make_env()
    os.makedirs(out_dir, exist_ok=True)
    template = env.from_string(source)
    for name, case in data["cases"].items():
        write_result(out_dir, name, lambda: template.render(**build_context(data, case)))


if __name__ == "__main__":
    main()
