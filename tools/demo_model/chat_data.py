"""Training documents: plain KJV chapters, and synthetic chat conversations built from the corpus
(questions about a verse, a word, a definition -> answers in the corpus' words), rendered through
the model's ChatML-style template."""
import random
import re

from . import bpe

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

IDENTITY = ("I am tandem-demo, a very small model trained on the King James Bible and the "
            "definitions of WordNet. Ask me about a verse or a word.")
SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are tandem-demo. Answer briefly.",
    "Answer in the words of the King James Bible.",
]


def render(messages, add_generation_prompt=False):
    """What CHAT_TEMPLATE renders (checked against Jinja2 by tests/demo_model)."""
    out = "".join(f"{bpe.IM_START}{m['role']}\n{m['content']}{bpe.IM_END}\n" for m in messages)
    return out + (f"{bpe.IM_START}assistant\n" if add_generation_prompt else "")


def chapter_texts(chapters):
    return ["\n".join(v.text for v in verses) for _, _, verses in chapters]


class ChatMaker:
    def __init__(self, verses, definitions, seed):
        self.rng = random.Random(seed)
        self.verses = verses
        self.definitions = definitions
        self.words = sorted(definitions)
        self.verses_with = {}
        for i, v in enumerate(verses):
            for w in set(re.findall(r"[a-z]+", v.text.lower())):
                if w in definitions:
                    self.verses_with.setdefault(w, []).append(i)
        self.about_words = sorted(w for w in self.words if len(self.verses_with.get(w, ())) >= 2)

    def _verse_lookup(self):
        v = self.rng.choice(self.verses)
        q = self.rng.choice(["What does {r} say?", "Quote {r}.", "Read {r} to me.",
                             "What is written in {r}?", "{r}"]).format(r=v.reference)
        a = self.rng.choice(["{t}", "It is written in {r}: {t}", "{r} says: {t}"])
        return q, a.format(r=v.reference, t=v.text)

    def _definition(self):
        w = self.rng.choice(self.words)
        senses = self.definitions[w]
        q = self.rng.choice(["What does the word \"{w}\" mean?", "Define {w}.",
                             "What is the meaning of {w}?", "What does {w} mean?",
                             "Tell me what \"{w}\" means."]).format(w=w)
        parts = [f"({pos}) {d}" for pos, d in senses[:2]]
        return q, f"{w.capitalize()}: " + "; ".join(parts) + "."

    def _verse_about(self):
        w = self.rng.choice(self.about_words)
        v = self.verses[self.rng.choice(self.verses_with[w])]
        q = self.rng.choice(["Give me a verse about {w}.", "Find a verse that mentions {w}.",
                             "What does the Bible say about {w}?",
                             "Show me a verse with the word {w}."]).format(w=w)
        return q, f"{v.reference}: {v.text}"

    def _continue(self):
        v = self.rng.choice(self.verses)
        words = v.text.split()
        if len(words) < 6:
            return self._verse_lookup()
        cut = self.rng.randint(2, len(words) - 3)
        q = self.rng.choice(["Finish this verse: {h}", "Continue: {h}",
                             "How does this verse go on? {h}"]).format(h=" ".join(words[:cut]))
        return q, " ".join(words[cut:])

    def _identity(self):
        q = self.rng.choice(["Hello", "Hello!", "Hi", "Who are you?", "What can you do?",
                             "What are you?"])
        return q, IDENTITY

    def conversation(self):
        messages = []
        if self.rng.random() < 0.25:
            messages.append({"role": "system", "content": self.rng.choice(SYSTEM_PROMPTS)})
        kinds = [(self._verse_lookup, 0.2), (self._definition, 0.3), (self._verse_about, 0.25),
                 (self._continue, 0.2), (self._identity, 0.05)]
        for _ in range(self.rng.choice([1, 1, 2, 3])):
            r, acc = self.rng.random(), 0.0
            for make, p in kinds:
                acc += p
                if r < acc:
                    break
            q, a = make()
            messages.append({"role": "user", "content": q})
            messages.append({"role": "assistant", "content": a})
        return messages
