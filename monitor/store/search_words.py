"""The words of a search and where they occur in a text, as FTS5's unicode61 tokenizer sees
them (folded with remove_diacritics 2): what a person typed as phrases, and their first HITS
hits in a folded text, for the snippets (store/snippets.py) and the FTS5 query
(store/fulltext.py)."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# What a person types: "quoted phrases" and words, each may end in * (a prefix, as in FTS5).
TERM = re.compile(r'"([^"]+)"(\*?)|(\S+)')
SEPARATORS = re.compile(r"[\W_]+")  # as unicode61 splits: not a letter or a digit
HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff"
HAS_HANGUL = re.compile(f"[{HANGUL}]")
# Combining marks: unicode61 (remove_diacritics) keeps them inside a token and drops them.
MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
HAS_MARK = re.compile(f"[{MARKS}]")
# Letters that fold to another single letter (Latin, Greek, Cyrillic with diacritics), and
# combining marks: a text without any is searched as it is, lower case.
SPECIAL = re.compile(f"[\u00c0-\u024f\u0370-\u052f\u1e00-\u1fff{MARKS}]")
HITS = 8  # hits of each word or phrase looked at in one row (more made "the" 4x slower)


def fold(word: str) -> str:
    """A word as unicode61 remove_diacritics 2 indexes it: lower case, without diacritics."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _folding() -> dict[int, str]:
    table = {}
    for code in itertools.chain(range(0xC0, 0x250), range(0x370, 0x530), range(0x1E00, 0x2000)):
        folded = fold(chr(code))
        if len(folded) == 1 and folded != chr(code):
            table[code] = folded
    return table


FOLDING = _folding()


@dataclass(frozen=True)
class Tokens:
    """The regular expressions of one text's tokens: plain, or with combining marks inside."""

    token: re.Pattern[str]
    split: re.Pattern[str]  # the same in a group: re.split keeps the tokens
    char: str  # one token character
    separator: str  # a run of characters between two tokens
    before: str  # not preceded by a token character
    after: str  # not followed by one


def _tokens(char: str, other: str, before: str, after: str) -> Tokens:
    """Tokens of `char` characters, separated by runs of `other` ones."""
    return Tokens(
        re.compile(f"{char}+"), re.compile(f"({char}+)"), char, f"{other}+", before, after
    )


PLAIN = _tokens(r"[^\W_]", r"[\W_]", r"(?<![^\W_])", r"(?![^\W_])")
MARKED = _tokens(
    rf"(?:[^\W_]|[{MARKS}])",
    rf"(?:(?![{MARKS}])[\W_])",
    rf"(?<![^\W_])(?<![{MARKS}])",
    rf"(?![^\W_])(?![{MARKS}])",
)


@dataclass(frozen=True)
class Phrase:
    """One word or phrase of the query: its folded tokens, whether its last token is a prefix
    (word*, or Korean), and else whether a Korean particle may be attached to it."""

    tokens: tuple[str, ...]
    prefix: bool

    @property
    def cased(self) -> bool:
        """Whether a letter of it has an upper case (Hangul has none)."""
        return any(c != c.upper() for token in self.tokens for c in token)

    def pattern(self, kind: Tokens) -> re.Pattern[str]:
        """Where the phrase occurs in a text folded by `fold_text`, tokenized as `kind`."""
        return _pattern(self, kind is MARKED)


def _word(token: str, marked: bool) -> str:
    if not marked:
        return re.escape(token)
    return "".join(re.escape(c) + f"[{MARKS}]*" for c in token)


@functools.cache
def _pattern(phrase: Phrase, marked: bool) -> re.Pattern[str]:
    kind = MARKED if marked else PLAIN
    head = [_word(t, marked) for t in phrase.tokens[:-1]]
    last = _word(phrase.tokens[-1], marked)
    if phrase.prefix:
        last += f"{kind.char}*"
    else:  # ICBM을, 2018년: the word, then Hangul starting with a syllable
        last += f"(?P<form>[\uac00-\ud7a3][{HANGUL}]*)?"
    return re.compile(kind.separator.join([*head, last]) + kind.after)


def phrases(query: str) -> list[Phrase]:
    """The words and phrases of what a person typed, as `fulltext.fts_query` reads them."""
    found = []
    for phrase, star, word in TERM.findall(query):
        text, prefix = (phrase, bool(star)) if phrase else (word, word.endswith("*"))
        tokens = tuple(fold(t) for t in SEPARATORS.split(text) if t)
        if tokens:
            found.append(Phrase(tokens, prefix or bool(HAS_HANGUL.search(tokens[-1]))))
    return found


@dataclass(frozen=True)
class Hit:
    start: int  # character offsets in the text
    end: int
    phrase: tuple[int, str]  # (phrase of the query, Korean particle attached): FTS5's phrase
    size: int  # tokens


def fold_text(text: str) -> tuple[str, Tokens]:
    """`text` folded character by character, keeping its length (offsets stay valid), and how
    its tokens are found (MARKED when it holds combining marks)."""
    lower = text.lower()
    if len(lower) != len(text):  # İ lowers to two characters
        lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    if lower.isascii() or not SPECIAL.search(lower):
        return lower, PLAIN
    return lower.translate(FOLDING), MARKED if HAS_MARK.search(lower) else PLAIN


def hits(folded: str, query: Sequence[Phrase], kind: Tokens) -> list[Hit]:
    """The first HITS occurrences of each phrase, in the order of the text (FTS5's order)."""
    found = []
    marked = kind is MARKED
    for n, phrase in enumerate(query):
        pattern, at, count = phrase.pattern(kind), 0, 0
        while count < HITS:
            m = pattern.search(folded, at)
            if m is None:
                break
            start = m.start()
            # checked here, not by a look-behind, so that the search runs on the literal word
            if start and (
                folded[start - 1].isalnum() or (marked and HAS_MARK.match(folded, start - 1))
            ):
                at = start + 1
                continue
            form = "" if phrase.prefix else (m.group("form") or "")
            found.append((start, n, Hit(start, m.end(), (n, form), len(phrase.tokens))))
            at, count = m.end(), count + 1
    return [h for _, _, h in sorted(found, key=lambda f: (f[0], f[1]))]
