"""A Llama-architecture transformer in plain torch, laid out exactly as tandem reads GGUF llama
files: pre-norm RMSNorm blocks, grouped-query attention with adjacent-pair ("normal") RoPE,
SwiGLU feed-forward, output tied to the token embedding."""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class Config:
    n_vocab: int
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_head_kv: int = 2
    n_ff: int = 640
    n_ctx: int = 256
    rope_base: float = 10000.0
    rms_eps: float = 1e-5

    @property
    def head_dim(self):
        return self.n_embd // self.n_head


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg):
    # angle(pos, i) = pos * base^(-2i/head_dim) for the pair (2i, 2i+1), as tandem's kernel.
    half = cfg.head_dim // 2
    freq = cfg.rope_base ** (-2.0 * torch.arange(half, dtype=torch.float64) / cfg.head_dim)
    angle = torch.arange(cfg.n_ctx, dtype=torch.float64)[:, None] * freq[None, :]
    return torch.cos(angle).float(), torch.sin(angle).float()


def apply_rope(x, cos, sin):
    """x: (batch, heads, T, head_dim); rotates adjacent pairs (2i, 2i+1)."""
    t = x.shape[2]
    pairs = x.reshape(*x.shape[:-1], -1, 2)
    x0, x1 = pairs[..., 0], pairs[..., 1]
    c, s = cos[:t], sin[:t]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).reshape(x.shape)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hd = cfg.head_dim
        self.cfg = cfg
        self.attn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.attn_q = nn.Linear(cfg.n_embd, cfg.n_head * hd, bias=False)
        self.attn_k = nn.Linear(cfg.n_embd, cfg.n_head_kv * hd, bias=False)
        self.attn_v = nn.Linear(cfg.n_embd, cfg.n_head_kv * hd, bias=False)
        self.attn_output = nn.Linear(cfg.n_head * hd, cfg.n_embd, bias=False)
        self.ffn_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        self.ffn_gate = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.ffn_up = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.ffn_down = nn.Linear(cfg.n_ff, cfg.n_embd, bias=False)

    def forward(self, x, cos, sin, mask):
        cfg, (b, t, _) = self.cfg, x.shape
        hd = cfg.head_dim
        h = self.attn_norm(x)
        q = self.attn_q(h).view(b, t, cfg.n_head, hd).transpose(1, 2)
        k = self.attn_k(h).view(b, t, cfg.n_head_kv, hd).transpose(1, 2)
        v = self.attn_v(h).view(b, t, cfg.n_head_kv, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        group = cfg.n_head // cfg.n_head_kv  # query head h reads kv head h // group
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        # 3-D bmm: torch 1.13's CPU matmul on 4-D operands is ~30x slower than on 3-D ones.
        q3, k3, v3 = (z.reshape(b * cfg.n_head, t, hd) for z in (q, k, v))
        att = torch.bmm(q3, k3.transpose(1, 2)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(mask[:t, :t], float("-inf")).softmax(-1)
        o = torch.bmm(att, v3).view(b, cfg.n_head, t, hd)
        x = x + self.attn_output(o.transpose(1, 2).reshape(b, t, cfg.n_head * hd))
        h = self.ffn_norm(x)
        return x + self.ffn_down(F.silu(self.ffn_gate(h)) * self.ffn_up(h))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.token_embd = nn.Embedding(cfg.n_vocab, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.output_norm = RMSNorm(cfg.n_embd, cfg.rms_eps)
        cos, sin = rope_tables(cfg)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        mask = torch.triu(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02
                if name.endswith("attn_output.weight") or name.endswith("ffn_down.weight"):
                    std = 0.02 / math.sqrt(2 * cfg.n_layer)
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, ids):
        x = self.token_embd(ids)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.mask)
        return self.output_norm(x) @ self.token_embd.weight.t()

    def gguf_tensors(self):
        """(GGUF name, float32 numpy array shaped as torch holds it) for every weight."""
        out = [("token_embd.weight", self.token_embd.weight)]
        for i, blk in enumerate(self.blocks):
            for name in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                         "ffn_gate", "ffn_up", "ffn_down"):
                out.append((f"blk.{i}.{name}.weight", getattr(blk, name).weight))
        out.append(("output_norm.weight", self.output_norm.weight))
        return [(n, t.detach().float().numpy().copy()) for n, t in out]
