#!/usr/bin/python3
"""Independent check of grammar-generated JSON: every output must parse with Python's json module
and validate against its schema.

Usage: json_schema_validate_test.py CASES.json
CASES.json: {"cases": [{"name": str, "schema": {...}, "outputs": [str, ...]}]}
Prints one line per case and exits 1 if any output is invalid.

Validation uses Debian's python3-jsonschema when installed (scripts/install-deps.sh installs it);
otherwise a small validator written here for the same keyword subset.
"""
import json
import sys

try:
    import jsonschema  # type: ignore

    def validate(schema, value):
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        errors = sorted(cls(schema).iter_errors(value), key=lambda e: list(e.path))
        return [e.message for e in errors]

    from importlib import metadata

    VALIDATOR = "jsonschema " + metadata.version("jsonschema")
except ImportError:  # minimal fallback
    VALIDATOR = "builtin"

    def _type_ok(t, v):
        if t == "object": return isinstance(v, dict)
        if t == "array": return isinstance(v, list)
        if t == "string": return isinstance(v, str)
        if t == "boolean": return isinstance(v, bool)
        if t == "null": return v is None
        if t == "integer":
            return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
        if t == "number": return isinstance(v, (int, float)) and not isinstance(v, bool)
        raise ValueError("unknown type " + t)

    def _resolve(root, ref):
        node = root
        for part in ref.lstrip("#").split("/")[1:]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _errors(root, s, v, path):
        if s is True or s == {}: return []
        if s is False: return [path + ": false schema"]
        if "$ref" in s: return _errors(root, _resolve(root, s["$ref"]), v, path)
        errs = []
        if "const" in s and not (v == s["const"] and type(v) == type(s["const"])):
            errs.append(path + ": not const")
        if "enum" in s and not any(v == e and type(v) == type(e) for e in s["enum"]):
            errs.append(path + ": not in enum")
        if "anyOf" in s and all(_errors(root, x, v, path) for x in s["anyOf"]):
            errs.append(path + ": no anyOf branch")
        if "oneOf" in s and sum(not _errors(root, x, v, path) for x in s["oneOf"]) != 1:
            errs.append(path + ": not exactly one oneOf branch")
        for x in s.get("allOf", []): errs += _errors(root, x, v, path)
        if "type" in s:
            ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(_type_ok(t, v) for t in ts): return errs + [path + ": wrong type"]
        num = isinstance(v, (int, float)) and not isinstance(v, bool)
        if num and "minimum" in s and v < s["minimum"]: errs.append(path + ": below minimum")
        if num and "maximum" in s and v > s["maximum"]: errs.append(path + ": above maximum")
        if num and "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]: errs.append(path + ": <= exclusiveMinimum")
        if num and "exclusiveMaximum" in s and v >= s["exclusiveMaximum"]: errs.append(path + ": >= exclusiveMaximum")
        if isinstance(v, str):
            if len(v) < s.get("minLength", 0): errs.append(path + ": too short")
            if "maxLength" in s and len(v) > s["maxLength"]: errs.append(path + ": too long")
        if isinstance(v, list):
            if len(v) < s.get("minItems", 0): errs.append(path + ": too few items")
            if "maxItems" in s and len(v) > s["maxItems"]: errs.append(path + ": too many items")
            for i, x in enumerate(v):
                errs += _errors(root, s.get("items", True), x, path + "/" + str(i))
        if isinstance(v, dict):
            props = s.get("properties", {})
            for r in s.get("required", []):
                if r not in v: errs.append(path + ": missing " + r)
            for k, x in v.items():
                if k in props: errs += _errors(root, props[k], x, path + "/" + k)
                else: errs += _errors(root, s.get("additionalProperties", True), x, path + "/" + k)
        return errs

    def validate(schema, value):
        return _errors(schema, schema, value, "")


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    bad = 0
    for case in cases:
        failures = []
        for out in case["outputs"]:
            try:
                value = json.loads(out)
            except ValueError as e:
                failures.append("does not parse (%s): %r" % (e, out))
                continue
            errs = validate(case["schema"], value)
            if errs:
                failures.append("invalid (%s): %r" % ("; ".join(errs), out))
        bad += len(failures)
        print("%s: %d outputs, %d invalid [%s]" % (case["name"], len(case["outputs"]), len(failures), VALIDATOR))
        for fail in failures[:5]:
            print("  " + fail)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
