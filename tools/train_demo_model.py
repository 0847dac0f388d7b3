#!/usr/bin/python3
"""Trains tandem's embedded demo model (models/tandem-demo.gguf) from Debian packages, reproducibly.

    tools/setup_train_env.sh && tools/train_demo_model.py

Corpus: the King James Bible (public domain, `bible-kjv-text`) and WordNet 3.0 glosses
(`wordnet-base`), plus synthetic chat turns built from them (a verse by reference, a word's
definition, a verse about a word, the rest of a verse) in a ChatML-style template. Three books
(Ruth, Philemon, Jude) are held out and written to tests/demo_model/heldout_kjv.txt for the
perplexity test. Everything is seeded and single-process with a fixed thread count, so the same
packages and the same flags give the same file."""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_model import bpe, chat_data, corpus, gguf_writer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(ROOT, "models", "tandem-demo.gguf"))
    p.add_argument("--heldout-out", default=os.path.join(ROOT, "tests", "demo_model", "heldout_kjv.txt"))
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    p.add_argument("--batch", type=int, default=4, help="sequences per step")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    p.add_argument("--vocab", type=int, default=3072)
    p.add_argument("--embd", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--ff", type=int, default=640)
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--chat-fraction", type=float, default=0.4, help="share of sequences from chats")
    p.add_argument("--conversations", type=int, default=20000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1611)
    p.add_argument("--quick", action="store_true", help="smoke test: 20 steps")
    return p.parse_args()


def package_version(name):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build_data(args):
    verses = corpus.read_bible()
    train_verses, held_verses = corpus.split_held_out(verses)
    counts = corpus.word_counts(train_verses)
    definitions = corpus.read_wordnet(w for w, n in counts.items() if n >= 3 and len(w) >= 3)
    maker = chat_data.ChatMaker(train_verses, definitions, args.seed)
    conversations = [maker.conversation() for _ in range(args.conversations)]
    plain_texts = chat_data.chapter_texts(corpus.chapters(train_verses))
    chat_texts = [chat_data.render(c) for c in conversations]
    # The tokenizer learns from the text both kinds of document contain (special tokens aside).
    bpe_texts = plain_texts + [t.replace(bpe.IM_START, "\n").replace(bpe.IM_END, "\n")
                               for t in chat_texts]
    vocab = bpe.train(bpe_texts, args.vocab)
    bos, eos = vocab.id(bpe.BOS), vocab.id(bpe.EOS)
    plain = [bos]
    for t in plain_texts:
        plain += vocab.encode_plain(t) + [eos, bos]
    chat = []
    for t in chat_texts:
        chat += [bos] + vocab.encode(t)
    held_chapters = chat_data.chapter_texts(corpus.chapters(held_verses))
    return vocab, np.array(plain, np.int64), np.array(chat, np.int64), held_chapters, definitions


def heldout_windows(vocab, chapters, n_ctx):
    """Each held-out chapter as [BOS] text [EOS], cut into windows of n_ctx tokens; every token
    but a window's first is predicted. tests/demo_model computes the same in C++."""
    out = []
    for text in chapters:
        ids = [vocab.id(bpe.BOS)] + vocab.encode_plain(text) + [vocab.id(bpe.EOS)]
        out += [ids[i:i + n_ctx] for i in range(0, len(ids), n_ctx) if len(ids[i:i + n_ctx]) > 1]
    return out


def evaluate(torch, model, windows):
    nll, n = 0.0, 0
    with torch.no_grad():
        for w in windows:
            ids = torch.tensor([w])
            logp = model(ids[:, :-1]).double().log_softmax(-1)
            nll -= logp[0].gather(1, ids[0, 1:, None]).sum().item()
            n += len(w) - 1
    return math.exp(nll / n), n


def unigram_perplexity(train_ids, windows, n_vocab):
    """Add-one smoothed unigram model fit on the training tokens, on the held-out tokens."""
    counts = np.bincount(train_ids, minlength=n_vocab).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    targets = np.concatenate([np.array(w[1:]) for w in windows])
    return math.exp(-logp[targets].mean())


def train(args, torch, model, plain, chat):
    from torch.nn.utils import clip_grad_norm_
    rng = np.random.default_rng(args.seed)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    warmup = max(1, args.steps // 20)
    log, start, t = [], time.time(), args.ctx + 1
    for step in range(args.steps):
        lr = args.lr * (step + 1) / warmup if step < warmup else \
            args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / max(1, args.steps - warmup))))
        for g in opt.param_groups:
            g["lr"] = lr
        rows = []
        for _ in range(args.batch):
            src = chat if rng.random() < args.chat_fraction else plain
            off = int(rng.integers(0, len(src) - t))
            rows.append(src[off:off + t])
        batch = torch.from_numpy(np.stack(rows))
        logits = model(batch[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        log.append(loss.item())
        if step % 10 == 0 or step + 1 == args.steps:
            el = time.time() - start
            tps = (step + 1) * args.batch * args.ctx / el
            print(f"step {step + 1}/{args.steps} loss {loss.item():.3f} lr {lr:.2e} "
                  f"{tps:.0f} tokens/s, {el / 60:.1f} min, eta {(args.steps - step - 1) * el / (step + 1) / 60:.1f} min",
                  flush=True)
    return log, time.time() - start


def main():
    args = parse_args()
    if args.quick:
        args.steps, args.conversations = 20, 3000
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch
    from demo_model import llama
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    t0 = time.time()
    vocab, plain, chat, held_chapters, definitions = build_data(args)
    print(f"data: vocab {len(vocab)}, {len(plain)} plain tokens, {len(chat)} chat tokens, "
          f"{len(definitions)} defined words, {time.time() - t0:.1f} s", flush=True)
    cfg = llama.Config(n_vocab=len(vocab), n_embd=args.embd, n_layer=args.layers, n_head=args.heads,
                       n_head_kv=args.kv_heads, n_ff=args.ff, n_ctx=args.ctx)
    model = llama.Llama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params} parameters, {cfg}", flush=True)

    losses, seconds = train(args, torch, model, plain, chat)
    # Evaluate the weights as they are stored (F16 matrices), so tandem must reproduce this number.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(p.half().float())
    model.eval()
    windows = heldout_windows(vocab, held_chapters, args.ctx)
    ppl, n_held = evaluate(torch, model, windows)
    uni = unigram_perplexity(np.concatenate([plain, chat]), windows, len(vocab))
    final_loss = float(np.mean(losses[-20:]))
    tokens = args.steps * args.batch * args.ctx
    print(f"held-out perplexity {ppl:.2f} on {n_held} tokens (unigram {uni:.1f}); "
          f"final loss {final_loss:.3f}; {tokens} tokens in {seconds / 60:.1f} min", flush=True)

    from demo_model import export
    export.write_gguf(args, cfg, model, vocab, {
        "steps": args.steps, "tokens": tokens, "final_loss": final_loss, "params": n_params,
        "heldout_perplexity": ppl, "heldout_tokens": n_held, "unigram_perplexity": uni,
        "versions": {p: package_version(p) for p in ("bible-kjv-text", "wordnet-base", "python3-torch")},
    })
    os.makedirs(os.path.dirname(args.heldout_out), exist_ok=True)
    with open(args.heldout_out, "w", encoding="utf-8") as f:
        f.write("\n\n".join(held_chapters) + "\n")
    with open(os.path.splitext(args.out)[0] + ".train.json", "w") as f:
        recipe = {k: v for k, v in vars(args).items() if k not in ("out", "heldout_out")}
        json.dump({"args": recipe, "params": n_params, "seconds": round(seconds, 1),
                   "tokens": tokens, "heldout_perplexity": ppl, "unigram_perplexity": uni,
                   "loss_every_10_steps": [round(x, 4) for x in losses[::10]]}, f, indent=1)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
