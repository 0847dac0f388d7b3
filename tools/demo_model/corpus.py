"""The training corpus of the demo model, read from Debian packages with free licences:

- the King James Bible (public domain) from `bible-kjv-text`, printed verse by verse by the
  `bible` program of `bible-kjv`;
- WordNet 3.0 glosses (WordNet 3.0 licence, a permissive BSD-style notice) from `wordnet-base`.

Everything here is deterministic: the same packages give the same corpus."""
import os
import re
import subprocess
from dataclasses import dataclass

# The 66 books in the order `bible` prints them; its abbreviations are mapped to these by order.
BOOKS = [
    "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth",
    "1 Samuel", "2 Samuel", "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra",
    "Nehemiah", "Esther", "Job", "Psalms", "Proverbs", "Ecclesiastes", "Song of Solomon", "Isaiah",
    "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel", "Amos", "Obadiah", "Jonah",
    "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi", "Matthew", "Mark",
    "Luke", "John", "Acts", "Romans", "1 Corinthians", "2 Corinthians", "Galatians", "Ephesians",
    "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians", "1 Timothy", "2 Timothy",
    "Titus", "Philemon", "Hebrews", "James", "1 Peter", "2 Peter", "1 John", "2 John", "3 John",
    "Jude", "Revelation",
]
# Books never seen in training: the held-out text for perplexity (tests/demo_model/).
HELD_OUT_BOOKS = ("Ruth", "Philemon", "Jude")

WORDNET_DIR = "/usr/share/wordnet"
WORDNET_POS = (("noun", "noun"), ("verb", "verb"), ("adj", "adjective"), ("adv", "adverb"))
WORDNET_NOTICE = (
    "WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. Permission to use, "
    "copy, modify and distribute this software and database and its documentation for any purpose "
    "and without fee or royalty is hereby granted, provided that you agree to comply with the "
    "copyright notice and statements, including the disclaimer. THIS SOFTWARE AND DATABASE IS "
    "PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS "
    "OR IMPLIED.")


@dataclass(frozen=True)
class Verse:
    book: str
    chapter: int
    verse: int
    text: str

    @property
    def reference(self):
        return f"{self.book} {self.chapter}:{self.verse}"


def read_bible():
    """All 31,102 verses, in order."""
    try:
        out = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], check=True, capture_output=True,
                             text=True, encoding="utf-8").stdout
    except FileNotFoundError as e:
        raise SystemExit("the `bible` program is missing: run tools/setup_train_env.sh") from e
    line_re = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")
    verses, abbrev_to_book = [], {}
    for line in out.splitlines():
        m = line_re.match(line)
        if not m:
            raise SystemExit(f"unexpected line from `bible`: {line!r}")
        abbrev = m.group(1)
        if abbrev not in abbrev_to_book:
            abbrev_to_book[abbrev] = BOOKS[len(abbrev_to_book)]
        text = " ".join(m.group(4).split())
        verses.append(Verse(abbrev_to_book[abbrev], int(m.group(2)), int(m.group(3)), text))
    if len(abbrev_to_book) != len(BOOKS) or len(verses) != 31102:
        raise SystemExit(f"`bible` printed {len(abbrev_to_book)} books, {len(verses)} verses")
    return verses


def chapters(verses):
    """[(book, chapter, [Verse...])] in order."""
    out = []
    for v in verses:
        if not out or out[-1][0] != v.book or out[-1][1] != v.chapter:
            out.append((v.book, v.chapter, []))
        out[-1][2].append(v)
    return out


def split_held_out(verses):
    train = [v for v in verses if v.book not in HELD_OUT_BOOKS]
    held = [v for v in verses if v.book in HELD_OUT_BOOKS]
    return train, held


def _first_definition(gloss):
    """The definition part of a gloss, without its quoted examples."""
    gloss = gloss.strip()
    cut = gloss.find('; "')
    if cut >= 0:
        gloss = gloss[:cut]
    if gloss.startswith('"'):
        return ""
    return gloss.strip().rstrip(";").strip()


def read_wordnet(words):
    """{word: [(part of speech, definition)]} for the most frequent sense of each part of speech
    of the given lower-case words (WordNet's index lists senses by frequency)."""
    if not os.path.isdir(WORDNET_DIR):
        raise SystemExit(f"{WORDNET_DIR} is missing: run tools/setup_train_env.sh")
    wanted = set(words)
    out = {}
    for short, pos_name in WORDNET_POS:
        first_offset = {}
        with open(os.path.join(WORDNET_DIR, "index." + short), encoding="latin-1") as f:
            for line in f:
                if line.startswith("  "):
                    continue
                fields = line.split()
                lemma = fields[0]
                if lemma not in wanted:
                    continue
                # lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offsets...
                p_cnt = int(fields[3])
                offsets = fields[4 + p_cnt + 2:]
                first_offset[lemma] = int(offsets[0])
        with open(os.path.join(WORDNET_DIR, "data." + short), "rb") as f:
            for lemma in sorted(first_offset):
                f.seek(first_offset[lemma])
                line = f.readline().decode("latin-1")
                if "|" not in line:
                    continue
                definition = _first_definition(line.split("|", 1)[1])
                if definition:
                    out.setdefault(lemma, []).append((pos_name, definition))
    return out


def word_counts(verses):
    counts = {}
    for v in verses:
        for w in re.findall(r"[A-Za-z]+", v.text):
            w = w.lower()
            counts[w] = counts.get(w, 0) + 1
    return counts
