"""A SentencePiece-style BPE vocabulary trained on the corpus, and the encoder tandem uses for it.

The vocabulary is stored in GGUF as tokenizer.ggml.model "llama": pieces with U+2581 for spaces,
a score per piece, byte-fallback tokens <0x00>..<0xFF> for anything else. tandem encodes such a
vocabulary by repeatedly joining the adjacent pair whose concatenation is a piece with the best
score (leftmost on ties); `encode` below is that same algorithm, so the model is trained on exactly
the ids tandem produces. add_space_prefix is off: text is encoded as it is, spaces become U+2581.

Training splits text into chunks (a word with its leading space, a run of punctuation, a digit,
a newline) and learns merges inside chunks only. No piece therefore spans a chunk boundary, which
makes chunk-by-chunk encoding here equal to tandem's whole-text encoding."""
import heapq
import re

SPACE = "\u2581"
UNK, BOS, EOS, IM_START, IM_END = "<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"
SPECIALS = [UNK, BOS, EOS, IM_START, IM_END]
# GGUF token types
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6

_CHUNK_RE = re.compile(r"\n|\u2581?[A-Za-z']+|\u2581?[0-9]|\u2581?[^\u2581\nA-Za-z0-9']+|\u2581")
_SPECIAL_RE = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")


def escape(text):
    return text.replace(" ", SPACE)


def chunks(text):
    """Chunks of already escaped text."""
    return _CHUNK_RE.findall(text)


class Vocab:
    def __init__(self, pieces, scores, types):
        self.pieces, self.scores, self.types = pieces, scores, types
        self.index = {p: i for i, p in enumerate(pieces)}
        self._cache = {}

    def __len__(self):
        return len(self.pieces)

    def id(self, piece):
        return self.index[piece]

    def _mergeable(self, piece):
        i = self.index.get(piece)
        return i is not None and self.types[i] == NORMAL

    def _encode_chunk(self, chunk):
        syms = list(chunk)
        while len(syms) > 1:
            best, best_score = -1, None
            for i in range(len(syms) - 1):
                j = self.index.get(syms[i] + syms[i + 1])
                if j is None or self.types[j] != NORMAL:
                    continue
                if best_score is None or self.scores[j] > best_score:
                    best, best_score = i, self.scores[j]
            if best < 0:
                break
            syms[best:best + 2] = [syms[best] + syms[best + 1]]
        ids = []
        for s in syms:
            if self._mergeable(s):
                ids.append(self.index[s])
            else:  # byte fallback
                ids.extend(self.index[f"<0x{b:02X}>"] for b in s.encode("utf-8"))
        return ids

    def encode_plain(self, text):
        """Text without special tokens."""
        out = []
        for c in chunks(escape(text)):
            ids = self._cache.get(c)
            if ids is None:
                ids = self._encode_chunk(c)
                if len(self._cache) < 1_000_000:
                    self._cache[c] = ids
            out.extend(ids)
        return out

    def encode(self, text):
        """Text in which special-token texts (<|im_start|>, ...) become their tokens, as tandem
        encodes with parse_special. No BOS is added."""
        out = []
        for part in _SPECIAL_RE.split(text):
            if not part:
                continue
            if part in self.index and self.types[self.index[part]] in (CONTROL, UNKNOWN):
                out.append(self.index[part])
            else:
                out.extend(self.encode_plain(part))
        return out

    def decode(self, ids):
        data = bytearray()
        for i in ids:
            p, t = self.pieces[i], self.types[i]
            if t == BYTE:
                data.append(int(p[3:5], 16))
            else:
                data.extend(p.replace(SPACE, " ").encode("utf-8"))
        return data.decode("utf-8", errors="replace")


def train(texts, vocab_size, min_char_count=20):
    """Learns merges on the chunk frequencies of `texts` until the vocabulary has `vocab_size`
    pieces: specials, 256 byte tokens, the characters seen at least `min_char_count` times, then
    merged pieces, each scored by the order it was learnt in (earlier = higher)."""
    counts = {}
    for text in texts:
        for c in chunks(escape(text)):
            counts[c] = counts.get(c, 0) + 1
    char_counts = {}
    for c, n in counts.items():
        for ch in c:
            char_counts[ch] = char_counts.get(ch, 0) + n
    chars = sorted(ch for ch, n in char_counts.items() if n >= min_char_count)
    pieces = list(SPECIALS) + [f"<0x{b:02X}>" for b in range(256)] + chars
    types = [UNKNOWN, CONTROL, CONTROL, CONTROL, CONTROL] + [BYTE] * 256 + [NORMAL] * len(chars)
    scores = [0.0] * len(pieces)
    known = set(pieces)
    if len(pieces) > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is below the {len(pieces)} base pieces")

    # Words as symbol lists (unknown characters stay single symbols that never merge).
    words = sorted(counts)  # sorted: deterministic order
    freq = [counts[w] for w in words]
    syms = [list(w) for w in words]
    pair_count, pair_where = {}, {}

    def add_pairs(wi, sign, changed=None):
        s = syms[wi]
        for a, b in zip(s, s[1:]):
            if a == "\n" or b == "\n" or a not in known or b not in known:
                continue
            key = (a, b)
            pair_count[key] = pair_count.get(key, 0) + sign * freq[wi]
            if sign > 0:
                pair_where.setdefault(key, set()).add(wi)
            if changed is not None:
                changed.add(key)

    for wi in range(len(words)):
        add_pairs(wi, +1)
    # Max-heap on (count, then the smaller pair): an entry whose count is no longer current is
    # skipped when popped; every count change pushes a fresh entry.
    heap = [(-n, k) for k, n in pair_count.items()]
    heapq.heapify(heap)
    piece_set = set(pieces)
    n_merges = 0
    while len(pieces) < vocab_size and heap:
        neg, key = heapq.heappop(heap)
        if pair_count.get(key, 0) != -neg or -neg <= 0:
            continue
        a, b = key
        merged = a + b
        known.add(merged)
        changed = set()
        for wi in sorted(pair_where.pop(key, ())):
            add_pairs(wi, -1, changed)
            s, out, i = syms[wi], [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            syms[wi] = out
            add_pairs(wi, +1, changed)
        pair_count.pop(key, None)
        changed.discard(key)
        for p in sorted(changed):
            if pair_count.get(p, 0) > 0:
                heapq.heappush(heap, (-pair_count[p], p))
        if merged not in piece_set:
            piece_set.add(merged)
            n_merges += 1
            pieces.append(merged)
            types.append(NORMAL)
            scores.append(-float(n_merges))
    return Vocab(pieces, scores, types)
