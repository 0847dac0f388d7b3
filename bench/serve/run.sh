#!/usr/bin/env bash
# Serving benchmark: starts `tandem serve` on a model file and runs the shared closed-loop load
# generator (serve_load.py: N clients, each asking for exactly 64 tokens, EOS biased away) at
# concurrency 1 4 8. With --peer, a peer server (llama.cpp / ik_llama.cpp llama-server) runs on
# the same model too, and the two are measured ALTERNATELY level by level, so a busy machine
# disturbs both alike (compare ratios, not absolute numbers).
#
#   bench/serve/run.sh [MODEL.gguf] [--tandem BIN] [--peer LLAMA_SERVER] [--parallel 8]
#                      [--threads 2] [--ctx 2048] [--requests 3] [--label NAME]
#
# Writes bench/results/serve-<label>.json: {"machine", "model", "tandem": [levels], "peer": [...]}
# (levels as serve_load.py reports them), plus the servers' logs next to it.
# Default model: the Qwen2.5-0.5B-shaped Q4_K_M file at /work/scratch/models (make one with
# `tandem bench --shape qwen2.5-0.5b --type q4_k_m --write FILE --write-only`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
model="/work/scratch/models/qwen2.5-0.5b-q4_k_m.gguf"
tandem="$root/build/src/cli/tandem"
peer=""
parallel=8
threads=2
ctx=2048
requests=3
label=""
port=18431
levels=(1 4 8)
max_tokens=64
load="${SERVE_LOAD:-/work/shared/bench/serve_load.py}"
py=/usr/bin/python3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tandem) tandem="$2"; shift 2 ;;
    --peer) peer="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --ctx) ctx="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --label) label="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) model="$1"; shift ;;
  esac
done
[[ -x "$tandem" ]] || { echo "no tandem binary at $tandem (use --tandem)" >&2; exit 2; }
[[ -f "$model" ]] || { echo "no model file $model" >&2; exit 2; }
model="$(realpath "$model")"  # the peer runs from a temp dir
[[ -z "$peer" || "$peer" != */* ]] || peer="$(realpath "$peer")"
name="$(basename "$model" .gguf)"
label="${label:-$name}"
out_dir="$root/bench/results"
tmp="$(mktemp -d)"
mkdir -p "$out_dir"

# End-of-generation ids to bias away, from the model's own tokenizer (serve_load's "auto" asks a
# /tokenize route tandem does not have).
eos_ids=""
for t in "<|im_end|>" "<|endoftext|>" "<|eot_id|>" "<|end_of_text|>" "</s>" "<|end|>"; do
  ids="$("$tandem" tokenize "$model" "$t" --ids --no-bos 2>/dev/null || true)"
  [[ -n "$ids" && "$ids" != *" "* ]] && eos_ids="${eos_ids:+$eos_ids,}$ids"
done
eos_ids="${eos_ids:-none}"

wait_health() {
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

"$tandem" serve "$model" --port "$port" -P "$parallel" -t "$threads" -c "$ctx" \
  2> "$out_dir/serve-$label.tandem.log" &
pids+=($!)
wait_health "$port" || { echo "tandem serve did not come up" >&2; exit 1; }
if [[ -n "$peer" ]]; then
  # llama-server's -c is the total over its slots. It runs in the temp dir: some builds write a
  # llama.log into their working directory.
  (cd "$tmp" && exec "$peer" -m "$model" --port $((port + 1)) -np "$parallel" -t "$threads" \
    -c $((ctx * parallel))) > "$out_dir/serve-$label.peer.log" 2>&1 &
  pids+=($!)
  wait_health $((port + 1)) || { echo "peer server did not come up" >&2; exit 1; }
fi

echo "[serve bench] $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), load $(cut -d' ' -f1-3 /proc/loadavg);" \
     "model $model; parallel $parallel; threads $threads" >&2
for n in "${levels[@]}"; do
  "$py" "$load" --url "http://127.0.0.1:$port" --concurrency "$n" --max-tokens "$max_tokens" \
    --requests "$requests" --eos-ids "$eos_ids" --model-name "$name" --label tandem \
    --out "$tmp/tandem-$n.json"
  if [[ -n "$peer" ]]; then
    "$py" "$load" --url "http://127.0.0.1:$((port + 1))" --concurrency "$n" --max-tokens "$max_tokens" \
      --requests "$requests" --eos-ids "$eos_ids" --bias-form array --label peer \
      --out "$tmp/peer-$n.json"
  fi
done

"$py" - "$tmp" "$out_dir/serve-$label.json" "$model" "$peer" "${levels[@]}" <<'PY'
import json, os, platform, subprocess, sys, time
tmp, out, model, peer, *levels = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if l.startswith("Model name")), platform.processor())
flags = subprocess.run(["grep", "-m1", "-o", "avx512f", "/proc/cpuinfo"], capture_output=True, text=True).stdout.strip()
doc = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": {"cpu": cpu, "avx512": bool(flags), "cores": os.cpu_count(),
       "loadavg_at_end": open("/proc/loadavg").read().split()[:3]},
       "model": model, "peer": peer or None, "tandem": [], "peer_levels": []}
for n in levels:
    doc["tandem"] += json.load(open(f"{tmp}/tandem-{n}.json"))["levels"]
    if peer:
        doc["peer_levels"] += json.load(open(f"{tmp}/peer-{n}.json"))["levels"]
json.dump(doc, open(out, "w"), indent=1)
print("\n| N | tandem tok/s | tandem p50 s |" + (" peer tok/s | peer p50 s | tandem/peer |" if peer else ""), file=sys.stderr)
print("|---:|---:|---:|" + ("---:|---:|---:|" if peer else ""), file=sys.stderr)
for i, t in enumerate(doc["tandem"]):
    row = f"| {t['concurrency']} | {t['agg_tokens_per_s']} | {t['latency_p50_s']} |"
    if peer:
        p = doc["peer_levels"][i]
        row += f" {p['agg_tokens_per_s']} | {p['latency_p50_s']} | {t['agg_tokens_per_s'] / p['agg_tokens_per_s']:.2f} |"
    print(row, file=sys.stderr)
print(f"wrote {out}", file=sys.stderr)
PY
