"""Words people use for tables, columns, row names and stored values, in English and Chinese, from names only.

English comes from the identifier's own words (abbreviations expanded, "X of Y" also read as "Y X", the table's
noun dropped from its columns: `dog_name` in dogs is also "name"). Chinese comes from chinese.py. The lists are
a draft: people add the words of their trade by editing the saved YAML.
"""

from __future__ import annotations

import re

from tools.text2sql.drafting.chinese import chinese_for, dictionary
from tools.text2sql.drafting.profile import ColumnProfile
from tools.text2sql.drafting.words import (
    TableNoun,
    of_reordered,
    plural,
    singular,
    spelling_variants,
    table_words,
    unique,
    vocabulary,
)

# A capitalised name of one to three words, not an acronym ("BC" is a province code, not 公元前).
# Heads that say too little on their own to stand for a column.
VAGUE_HEADS = ("number", "name", "date", "time", "description", "text", "id", "by", "on", "at", "from", "to")
_VALUE_NAME = re.compile(r"^[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}$")


def without_acronym_echo(words: list[str]) -> list[str]:
    """`pixel aspect ratio par` → `pixel aspect ratio`: a last word spelling the initials of the others."""
    if len(words) > 2 and words[-1] == "".join(word[0] for word in words[:-1] if word):
        return words[:-1]
    return words


def table_synonyms(table: str, noun: TableNoun, all_nouns: list[TableNoun]) -> list[str]:
    """Singular and plural of the table's noun (abbreviated and expanded), its head word when no other table
    shares it, and Chinese words for it."""
    raw = table_words(table)
    english = [noun.phrase, noun.plural_phrase]
    if raw:
        english += [" ".join([*raw[:-1], word]) for word in (singular(raw[-1]), plural(singular(raw[-1])))]
    head = noun.words[-1] if noun.words else ""
    shares_head = sum(1 for other in all_nouns if other.words and other.words[-1] == head) > 1
    head_alone = len(noun.words) > 1 and not shares_head and head not in vocabulary().generic_heads
    if head_alone:
        english += [head, plural(head)]
    english += [variant for phrase in english for variant in spelling_variants(phrase)]
    chinese = chinese_for(list(noun.words))
    if head_alone:
        chinese += chinese_for([head])[:1]
    return unique([*english, *chinese])


def column_synonyms(column: ColumnProfile, noun: TableNoun, head_alone: bool = False) -> list[str]:
    """English phrases of a column (full, reordered, without the table's noun, its head word alone when the
    drafter says no other column of the table shares it) and Chinese words for them."""
    words = without_acronym_echo(column.words)
    readings = [words]
    reordered = of_reordered(words)
    if reordered:
        readings.append(reordered)
    readings += [stripped for reading in list(readings) if (stripped := _without_table_noun(reading, noun))]
    if head_alone and len(words) > 1:
        readings.append(words[-1:])  # "billing country" is what a question calls "country"
    english = [" ".join(reading) for reading in readings]
    english += [variant for phrase in english for variant in spelling_variants(phrase)]
    if column.raw_words[-1:] == ["by"]:
        return unique(english)  # "directed by" names a person; its words translate to something else
    chinese = [word for reading in readings for word in chinese_for(reading)]
    return unique([*english, *chinese[:3]])


def column_head(column: ColumnProfile) -> str | None:
    """The head word a multiword column may also be called by: `billing_country` → country (None for vague
    heads such as number, name, type, and for columns whose words say identifier)."""
    words = without_acronym_echo(column.words)
    vocabulary_words = vocabulary()
    if len(words) < 2 or len(words[-1]) < 3 or words[-1] in vocabulary_words.generic_heads \
            or words[-1] in VAGUE_HEADS or words[-1] in vocabulary_words.stopwords:
        return None
    if set(words) & set(vocabulary_words.identifier_words) or not words[-1].isalpha():
        return None
    return words[-1]


def _without_table_noun(words: list[str], noun: TableNoun) -> list[str] | None:
    """The column's words after the table's noun (`dog name` in dogs → `name`); None when nothing is left."""
    for prefix in (list(noun.words), list(noun.words[-1:])):
        if prefix and len(words) > len(prefix) and words[:len(prefix)] == prefix:
            rest = words[len(prefix):]
            if rest and rest[0] not in vocabulary().stopwords:
                return rest
    return None


def label_synonyms(label: list[str], columns: dict[str, ColumnProfile]) -> list[str]:
    """Words for a row's name: "name(s)", "full name" for people, "title(s)" for a title column, in Chinese too."""
    if not label:
        return []
    phrases = ["name"]
    if len(label) > 1:
        phrases.insert(0, "full name")
    heads = {columns[column].words[-1] for column in label if columns[column].words}
    if "title" in heads:
        phrases.append("title")
    english = [form for phrase in phrases for form in (phrase, phrase + "s")]
    chinese = [word for phrase in phrases for word in chinese_for(phrase.split())]
    return unique([*english, *chinese])


def value_synonyms(column: ColumnProfile) -> dict[str, str]:
    """Chinese names of stored English proper names (意大利 → Italy) for a small category column.

    Only capitalised values the dictionary knows as a name, translated to two or more characters (one character
    would match inside unrelated words); a Chinese word two values would share is left out.
    """
    book = dictionary()
    found: dict[str, list[str]] = {}
    for value in column.values:
        if not _VALUE_NAME.match(value):
            continue
        chinese = book.proper_name(value)
        if chinese:
            found.setdefault(chinese, []).append(value)
    return {chinese: values[0] for chinese, values in found.items() if len(values) == 1}
