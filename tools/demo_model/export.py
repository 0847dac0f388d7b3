"""Writes the trained model as a GGUF llama file tandem loads: hyper-parameters, the tokenizer with
its chat template and special tokens, a model card, and the weights (F16 matrices, F32 norms)."""
from . import bpe, chat_data, corpus, gguf_writer as gw

MOSTLY_F16 = 1


def write_gguf(args, cfg, model, vocab, stats):
    w = gw.Writer()
    w.add_string("general.architecture", "llama")
    w.add_string("general.name", "tandem-demo")
    w.add_string("general.description",
                 "A toy chat model trained by tools/train_demo_model.py on the King James Bible and "
                 "WordNet glosses. It shows tandem's pipeline working offline; it knows nothing "
                 "reliably.")
    w.add_string("general.license", "CC0-1.0")
    w.add_u32("general.file_type", MOSTLY_F16)
    w.add_u32("general.alignment", gw.ALIGNMENT)
    v = stats["versions"]
    w.add_string("tandem.demo.data.sources",
                 f"Debian bible-kjv-text {v['bible-kjv-text']} (King James Bible); "
                 f"Debian wordnet-base {v['wordnet-base']} (WordNet 3.0 glosses)")
    w.add_string("tandem.demo.data.license",
                 "King James Bible text: public domain. WordNet glosses: " + corpus.WORDNET_NOTICE)
    w.add_string("tandem.demo.data.held_out", ", ".join(corpus.HELD_OUT_BOOKS) + " (KJV)")
    w.add_string("tandem.demo.training.recipe",
                 f"tools/train_demo_model.py --steps {args.steps} --batch {args.batch} "
                 f"--lr {args.lr} --vocab {args.vocab} --embd {args.embd} --layers {args.layers} "
                 f"--heads {args.heads} --kv-heads {args.kv_heads} --ff {args.ff} --ctx {args.ctx} "
                 f"--chat-fraction {args.chat_fraction} --conversations {args.conversations} "
                 f"--threads {args.threads} --seed {args.seed}; AdamW (0.9, 0.95), weight decay "
                 f"0.1, warm-up then cosine to 10%, python3-torch {v['python3-torch']}")
    w.add_u32("tandem.demo.training.steps", stats["steps"])
    w.add("tandem.demo.training.tokens", gw.UINT64, stats["tokens"])
    w.add("tandem.demo.training.parameters", gw.UINT64, stats["params"])
    w.add_f32("tandem.demo.training.final_loss", stats["final_loss"])
    w.add_f32("tandem.demo.eval.heldout_perplexity", stats["heldout_perplexity"])
    w.add_u32("tandem.demo.eval.heldout_tokens", stats["heldout_tokens"])
    w.add_f32("tandem.demo.eval.unigram_perplexity", stats["unigram_perplexity"])

    w.add_u32("llama.context_length", cfg.n_ctx)
    w.add_u32("llama.embedding_length", cfg.n_embd)
    w.add_u32("llama.block_count", cfg.n_layer)
    w.add_u32("llama.feed_forward_length", cfg.n_ff)
    w.add_u32("llama.attention.head_count", cfg.n_head)
    w.add_u32("llama.attention.head_count_kv", cfg.n_head_kv)
    w.add_u32("llama.rope.dimension_count", cfg.head_dim)
    w.add_f32("llama.rope.freq_base", cfg.rope_base)
    w.add_f32("llama.attention.layer_norm_rms_epsilon", cfg.rms_eps)
    w.add_u32("llama.vocab_size", len(vocab))

    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", gw.STRING, vocab.pieces)
    w.add_array("tokenizer.ggml.scores", gw.FLOAT32, vocab.scores)
    w.add_array("tokenizer.ggml.token_type", gw.INT32, vocab.types)
    w.add_u32("tokenizer.ggml.unknown_token_id", vocab.id(bpe.UNK))
    w.add_u32("tokenizer.ggml.bos_token_id", vocab.id(bpe.BOS))
    w.add_u32("tokenizer.ggml.eos_token_id", vocab.id(bpe.EOS))
    w.add_u32("tokenizer.ggml.eot_token_id", vocab.id(bpe.IM_END))
    w.add_u32("tokenizer.ggml.padding_token_id", vocab.id(bpe.EOS))
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_bool("tokenizer.ggml.add_eos_token", False)
    w.add_bool("tokenizer.ggml.add_space_prefix", False)
    w.add_string("tokenizer.chat_template", chat_data.CHAT_TEMPLATE)

    for name, arr in model.gguf_tensors():
        w.add_tensor(name, arr, gw.GGML_F16 if arr.ndim == 2 else gw.GGML_F32)
    w.write(args.out)
