"""Independent NumPy (float64) forward pass of the architectures tandem supports, for golden tests.

usage: reference.py MODEL.gguf DUMP_DIR TOKENS N_CTX OUT.bin [exact|actq] [hidden]
  TOKENS: comma-separated prompt ids (one sequence, positions 0..n-1)
  N_CTX:  context size the engine runs with (chooses long/short RoPE factors of long-rope models)
  actq:   also round the input of every quantized-weight matmul to 8 bits the way the engine's
          kernels do (Q8_0 blocks of 32 with an f16 scale; Q8_K blocks of 256 for k-quants), to
          show that this rounding is the whole difference for quantized weights.
Writes float64 logits, n_tokens x n_vocab, to OUT.bin; with `hidden`, the final hidden states
(after the output norm, n_tokens x n_embd) instead, for the embedding tests.

Written from the published model definitions (matrix form with a causal mask over the whole
prompt), sharing no code with the C++ engine; only the dequantized values of k-quant weights come
from C++ dumps (see tiny_gguf.py).
"""
import math
import sys

import numpy as np

from tiny_gguf import GGUF

# What differs between architectures, as the model papers / reference implementations define it.
ARCHS = {
    "llama": dict(neox=False),
    "qwen2": dict(neox=True),
    "qwen3": dict(neox=True),
    "phi3": dict(neox=True, swa_layer=lambda il: True),
    "gemma2": dict(neox=True, gelu=True, scale_embd=True, post_norms=True,
                   swa_layer=lambda il: il % 2 == 0),
    "gemma3": dict(neox=True, gelu=True, scale_embd=True, post_norms=True,
                   swa_layer=lambda il: (il + 1) % 6 != 0, local_rope_base=10000.0),
}


FLOAT_TYPES = {0, 1, 30}  # F32, F16, BF16: the engine multiplies them with float activations
SUPERBLOCK_TYPES = {10, 11, 12, 13, 14, 23}  # Q2_K..Q6_K, IQ4_XS: Q8_K activations


def quantize_activations(x, block, f16_scale):
    """Symmetric 8-bit rounding of blocks of `block` values, scale max|x|/127, in float32."""
    xb = x.astype(np.float32).reshape(-1, block)
    d = np.abs(xb).max(axis=1, keepdims=True) / np.float32(127.0)
    inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.clip(np.rint(xb * inv), -127, 127)  # rint: half to even
    if f16_scale:
        d = d.astype(np.float16)
    return (q.astype(np.float64) * d.astype(np.float64)).reshape(x.shape)


def q8_1_block_sum_correction(x, w):
    """Q4_1/Q5_1 weights meet Q8_1 activations, whose per-block sum d*sum(q) is stored in f16 and
    multiplies the weight block's minimum m (the smallest dequantized value of the block).
    Returns what that rounding adds to x @ w.T compared with exact sums."""
    xb = x.astype(np.float32).reshape(x.shape[0], -1, 32)
    d = np.abs(xb).max(axis=2) / np.float32(127.0)
    inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    qsum = np.clip(np.rint(xb * inv[..., None]), -127, 127).sum(axis=2)
    stored = (d * qsum.astype(np.float32)).astype(np.float16).astype(np.float64)
    exact = d.astype(np.float16).astype(np.float64) * qsum
    m = w.reshape(w.shape[0], -1, 32).min(axis=2)  # (rows, blocks)
    return (stored - exact) @ m.T


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, positions, n_rot, base, freq_scale, factors, mscale, neox):
    """x: (tokens, heads, head_dim). Rotates the first n_rot dims of every head."""
    half = n_rot // 2
    inv_freq = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_rot)
    if factors is not None:
        inv_freq = inv_freq / factors
    angles = positions[:, None].astype(np.float64) * inv_freq[None, :] * freq_scale  # (T, half)
    cos = (np.cos(angles) * mscale)[:, None, :]
    sin = (np.sin(angles) * mscale)[:, None, :]
    out = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        out[..., :half] = a * cos - b * sin
        out[..., half:n_rot] = a * sin + b * cos
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = a * cos - b * sin
        out[..., 1:n_rot:2] = a * sin + b * cos
    return out


def main():
    model_path, dump_dir, tokens_arg, n_ctx_arg, out_path = sys.argv[1:6]
    emulate_act_quant = len(sys.argv) > 6 and sys.argv[6] == "actq"
    want_hidden = "hidden" in sys.argv[7:]
    g = GGUF(model_path, dump_dir)

    def matmul(x, name):
        """x @ W.T for the weight tensor `name` (rows = outputs)."""
        ttype, w = g.infos[name][1], g.tensor(name)
        if not emulate_act_quant or ttype in FLOAT_TYPES:
            return x @ w.T
        block = 256 if ttype in SUPERBLOCK_TYPES else 32
        y = quantize_activations(x, block, f16_scale=block == 32) @ w.T
        if ttype in (3, 7):  # Q4_1, Q5_1
            y += q8_1_block_sum_correction(x, w)
        return y

    arch = g.meta["general.architecture"]
    spec = ARCHS[arch]
    hp = lambda key, default=None: g.meta.get(f"{arch}.{key}", default)

    tokens = np.array([int(t) for t in tokens_arg.split(",")])
    T = len(tokens)
    pos = np.arange(T)
    n_embd, n_layer = hp("embedding_length"), hp("block_count")
    n_head = hp("attention.head_count")
    n_head_kv = hp("attention.head_count_kv", n_head)
    hd_k = hp("attention.key_length", n_embd // n_head)
    hd_v = hp("attention.value_length", hd_k)
    n_ff = hp("feed_forward_length")
    eps = hp("attention.layer_norm_rms_epsilon")
    n_rot = hp("rope.dimension_count", hd_k)
    base = hp("rope.freq_base", 10000.0)
    freq_scale = 1.0 / hp("rope.scaling.factor") if hp("rope.scaling.type") == "linear" else 1.0
    mscale = hp("rope.scaling.attn_factor", 1.0)
    window = hp("attention.sliding_window", 0)
    attn_cap = hp("attn_logit_softcapping", 0.0)
    final_cap = hp("final_logit_softcapping", 0.0)
    n_ctx = int(n_ctx_arg) or hp("context_length")

    factors = None
    if g.has("rope_freqs.weight"):
        factors = g.tensor("rope_freqs.weight")
    elif g.has("rope_factors_long.weight"):
        long = n_ctx > hp("rope.scaling.original_context_length", hp("context_length"))
        factors = g.tensor("rope_factors_long.weight" if long else "rope_factors_short.weight")

    x = g.tensor("token_embd.weight")[tokens]  # (T, n_embd)
    if spec.get("scale_embd"):
        x = x * math.sqrt(n_embd)
    group = n_head // n_head_kv
    causal = pos[None, :] <= pos[:, None]  # [query, key]

    for il in range(n_layer):
        W = lambda name: g.tensor(f"blk.{il}.{name}")
        M = lambda x, name: matmul(x, f"blk.{il}.{name}")
        h = rms_norm(x, W("attn_norm.weight"), eps)
        if g.has(f"blk.{il}.attn_qkv.weight"):
            qkv = M(h, "attn_qkv.weight")
            q, k, v = np.split(qkv, [n_head * hd_k, n_head * hd_k + n_head_kv * hd_k], axis=1)
        else:
            q, k, v = M(h, "attn_q.weight"), M(h, "attn_k.weight"), M(h, "attn_v.weight")
            if g.has(f"blk.{il}.attn_q.bias"):
                q, k, v = q + W("attn_q.bias"), k + W("attn_k.bias"), v + W("attn_v.bias")
        q = q.reshape(T, n_head, hd_k)
        k = k.reshape(T, n_head_kv, hd_k)
        v = v.reshape(T, n_head_kv, hd_v)
        if g.has(f"blk.{il}.attn_q_norm.weight"):
            q = rms_norm(q, W("attn_q_norm.weight"), eps)
            k = rms_norm(k, W("attn_k_norm.weight"), eps)

        local = window > 0 and spec.get("swa_layer", lambda il: False)(il)
        layer_base, layer_scale = base, freq_scale
        if "local_rope_base" in spec and spec["swa_layer"](il):
            layer_base, layer_scale = hp("rope.freq_base_swa", spec["local_rope_base"]), 1.0
        q = rope(q, pos, n_rot, layer_base, layer_scale, factors, mscale, spec["neox"])
        k = rope(k, pos, n_rot, layer_base, layer_scale, factors, mscale, spec["neox"])

        mask = causal.copy()
        if local:
            mask &= (pos[:, None] - pos[None, :]) < window
        scale = hp("attention.scale", 1.0 / math.sqrt(hd_k))
        out = np.zeros((T, n_head, hd_v))
        for head in range(n_head):
            kvh = head // group
            scores = (q[:, head, :] @ k[:, kvh, :].T) * scale  # (T, T)
            if attn_cap:
                scores = attn_cap * np.tanh(scores / attn_cap)
            scores = np.where(mask, scores, -np.inf)
            p = np.exp(scores - scores.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            out[:, head, :] = p @ v[:, kvh, :]
        attn = M(out.reshape(T, n_head * hd_v), "attn_output.weight")
        if spec.get("post_norms"):
            attn = rms_norm(attn, W("post_attention_norm.weight"), eps)
        x = x + attn

        h = rms_norm(x, W("ffn_norm.weight"), eps)
        if g.has(f"blk.{il}.ffn_gate.weight"):
            gate, up = M(h, "ffn_gate.weight"), M(h, "ffn_up.weight")
        else:
            gate, up = np.split(M(h, "ffn_up.weight"), [n_ff], axis=1)
        act = gelu_tanh(gate) if spec.get("gelu") else silu(gate)
        ffn = M(act * up, "ffn_down.weight")
        if spec.get("post_norms"):
            ffn = rms_norm(ffn, W("post_ffw_norm.weight"), eps)
        x = x + ffn

    x = rms_norm(x, g.tensor("output_norm.weight"), eps)
    if want_hidden:
        x.astype("<f8").tofile(out_path)
        return
    logits = matmul(x, "output.weight" if g.has("output.weight") else "token_embd.weight")
    if final_cap:
        logits = final_cap * np.tanh(logits / final_cap)
    logits.astype("<f8").tofile(out_path)


if __name__ == "__main__":
    main()
