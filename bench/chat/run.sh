#!/bin/sh
# Reproduces bench/results/chat-schema-overhead.md: generation speed with and without a
# response_format grammar (bench/chat/schema_overhead) on
#   1. the demo model (models/tandem-demo.gguf, 3k vocabulary),
#   2. the qwen2.5-0.5b shape at Q4_K_M with random weights (151,936-token vocabulary), as
#      `tandem bench` writes it (placeholder vocabulary), and
#   3. the same weights with deepseek-llm's real 100k vocabulary padded to 151,936 with pairs of
#      its tokens (the realistic trie for the mask).
#
#   BUILD=build SCRATCH=/tmp/tandem-schema-bench bench/chat/run.sh
# Run from the repository root. JSON results go to $SCRATCH/*.json; the table goes to stdout.
set -eu
BUILD=${BUILD:-build}
SCRATCH=${SCRATCH:-/tmp/tandem-schema-bench}
SHARED=${TANDEM_SHARED_DIR:-../shared}
THREADS=${THREADS:-2}
BENCH="$BUILD/bench/chat/schema_overhead"
mkdir -p "$SCRATCH"

QWEN="$SCRATCH/qwen2.5-0.5b-q4_k_m.gguf"
[ -f "$QWEN" ] || "$BUILD/src/cli/tandem" bench --shape qwen2.5-0.5b --type q4_k_m --write "$QWEN" --write-only

echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH" models/tandem-demo.gguf --tokens 96 --reps 20 -t "$THREADS" --json "$SCRATCH/demo.json"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH" "$QWEN" --tokens 64 --reps 3 -t "$THREADS" --json "$SCRATCH/qwen-placeholder-vocab.json"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH" "$QWEN" --vocab-from "$SHARED/testdata/vocab/ggml-vocab-deepseek-llm.gguf" \
  --rewrite-to "$SCRATCH/qwen2.5-0.5b-q4_k_m-deepseek-vocab.gguf" \
  --tokens 48 --reps 12 -t "$THREADS" --json "$SCRATCH/qwen-deepseek-vocab.json"
echo "== load: $(cut -d' ' -f1-3 /proc/loadavg)"
