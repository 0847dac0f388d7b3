"""The demo model was trained on token ids from tools/demo_model/bpe.py and on text rendered by
tools/demo_model/chat_data.render. This checks that tandem sees the same: `tandem tokenize` gives
the trainer's ids (held-out text, chat prompts, odd characters), and the template stored in the
GGUF renders through Jinja2 exactly as the trainer rendered its chats.

usage: trainer_agreement_test.py TANDEM_BINARY MODEL.gguf HELDOUT.txt SOURCE_DIR"""
import subprocess
import sys

import jinja2

tandem, model_path, heldout_path, source_dir = sys.argv[1:5]
sys.path.insert(0, source_dir + "/tools")
sys.path.insert(0, source_dir + "/tests/model")
from demo_model import bpe, chat_data  # noqa: E402
from tiny_gguf import GGUF  # noqa: E402

gguf = GGUF(model_path)
meta = gguf.meta
vocab = bpe.Vocab(meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.scores"],
                  meta["tokenizer.ggml.token_type"])
bos = meta["tokenizer.ggml.bos_token_id"]

conversations = [
    [{"role": "user", "content": "What does the word \"light\" mean?"}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "Quote Genesis 1:3."},
     {"role": "assistant", "content": "And God said, Let there be light: and there was light."},
     {"role": "user", "content": "Give me a verse about bread."}],
]
template = jinja2.Environment().from_string(meta["tokenizer.chat_template"])
failures, checked = 0, 0
for messages in conversations:
    for gen in (False, True):
        got = template.render(messages=messages, add_generation_prompt=gen)
        want = chat_data.render(messages, gen)
        checked += 1
        if got != want:
            failures += 1
            print(f"FAIL template: jinja2 {got!r} != trainer {want!r}")

with open(heldout_path, encoding="utf-8") as f:
    heldout = f.read()
texts = [chat_data.render(c, True) for c in conversations] + [
    "In the beginning God created the heaven and the earth.",
    "Zyx 12:34 \u2014 na\u00efve caf\u00e9\n\nAnd  double  spaces, (parens) 'quoted'! \u2581",
] + heldout.split("\n\n")
for text in texts:
    want = [bos] + vocab.encode(text)
    out = subprocess.run([tandem, "tokenize", "--ids", model_path, text], capture_output=True,
                         text=True, check=True).stdout.split()
    got = [int(x) for x in out]
    checked += 1
    if got != want:
        failures += 1
        i = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), None)
        print(f"FAIL tokenize {text[:60]!r}: first difference at {i}: tandem {got[i:i + 5] if i is not None else got} "
              f"trainer {want[i:i + 5] if i is not None else want}")
print(f"{checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
