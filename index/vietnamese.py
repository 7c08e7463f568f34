"""Vietnamese text helpers shared by cleaning, keyword search and the answer core.

Citizens type on phones: often without diacritics, with abbreviations (tthc, dvc, sdt, ko, đc).
Everything that compares words goes through `fold` and `expand_abbreviations` so both sides meet.
"""
from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[0-9a-zA-ZÀ-ỹđĐ]+(?:[./,][0-9]+)*", re.UNICODE)
# Toll-free and service hotlines are written "1800.1096", "1800 1096", "1800-1096" or "18001096": one number.
_HOTLINE = re.compile(r"(?<![0-9])(1[89]00)[\s.\-]?([0-9]{4})(?![0-9])")

from index.lexicon import ANALYZER_FILES, Lexicon, LexiconError, active, load_or_published  # noqa: E402

# The word lists are data (knowledge/lexicon/*.yaml), loaded and validated once per process: the defaults.
# While an assistant answers, its index version's own lists are `active()` and used instead (abbreviations,
# synonyms; stopwords stay the process's: a stopword change needs `cchc index build --rebuild`).
try:
    LEXICON = load_or_published(ANALYZER_FILES)
except LexiconError as _exc:  # broken and never published: every command still starts, `cchc index build` refuses
    LEXICON = Lexicon(problem=str(_exc))
ABBREVIATIONS: dict[str, str] = LEXICON.abbreviations
STOPWORDS: frozenset[str] = LEXICON.stopwords

def _analyzer_version(abbreviations: dict[str, str] | None = None) -> str:
    """Changes whenever the way passages are turned into terms changes: an index built with another
    analyzer must be rebuilt, or questions and passages would no longer meet."""
    import hashlib

    payload = repr((sorted((abbreviations if abbreviations is not None else ABBREVIATIONS).items()),
                    sorted(STOPWORDS), _WORD.pattern, _HOTLINE.pattern))
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:10]


def analyzer_version() -> str:
    """The analyzer version of the lexicon in use here (an index version's own, or the process's)."""
    lex = active()
    return ANALYZER_VERSION if lex is None else _analyzer_version(lex.abbreviations)


def abbreviations() -> dict[str, str]:
    """Folded abbreviation -> folded expansion, from the lexicon in use here."""
    lex = active()
    return ABBREVIATIONS if lex is None else lex.abbreviations


_VIETNAMESE_LETTERS = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lowercase and strip diacritics: 'Thủ tục Đăng ký' -> 'thu tuc dang ky'."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.replace("đ", "d")


def has_vietnamese_diacritics(text: str) -> bool:
    return bool(_VIETNAMESE_LETTERS.search(text))


def _strip_leading_zeros(token: str) -> str:
    if not token[0].isdigit():
        return token
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", token)


def syllables(text: str) -> list[str]:
    """Folded syllables; numbers like 1800.1096 or 26/01/2026 stay one token ('06' == '6')."""
    return [_strip_leading_zeros(tok) for tok in _WORD.findall(_HOTLINE.sub(r"\1.\2", fold(nfc(text))))]


def expand_abbreviations(tokens: list[str]) -> list[str]:
    table = abbreviations()
    out: list[str] = []
    for tok in tokens:
        expansion = table.get(tok)
        out.extend(expansion.split() if expansion else [tok])
    return out


def normalized_tokens(text: str) -> list[str]:
    """Folded syllables with abbreviations expanded: the shared vocabulary of questions and passages."""
    return expand_abbreviations(syllables(text))


# Folded phrases citizens use -> the words the documents use. Question side only.
QUERY_SYNONYMS: tuple[tuple[str, str], ...] = tuple(LEXICON.synonyms)


def rewrite_query(folded: str) -> str:
    lex = active()
    text = f" {folded} "
    for phrase, replacement in (QUERY_SYNONYMS if lex is None else lex.synonyms):
        text = text.replace(f" {phrase} ", f" {replacement} ")
    return text.strip()


def content_tokens(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in STOPWORDS]


def content_bigrams(tokens: list[str]) -> list[str]:
    """Adjacent topic-word pairs ('khai_sinh', 'can_cuoc'): folding merges many syllables, pairs rarely collide."""
    return [f"{a}_{b}" for a, b in zip(tokens, tokens[1:]) if a not in STOPWORDS and b not in STOPWORDS]


def keyword_terms(text: str) -> list[str]:
    """BM25 terms: content syllables plus bigrams of adjacent syllables ('thu_tuc')."""
    tokens = normalized_tokens(text)
    unigrams = content_tokens(tokens)
    bigrams = [f"{a}_{b}" for a, b in zip(tokens, tokens[1:]) if a not in STOPWORDS or b not in STOPWORDS]
    return unigrams + bigrams


ANALYZER_VERSION = _analyzer_version()
