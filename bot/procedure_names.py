"""How an official procedure name is read: what is boilerplate, its level, its head, the parts of a listed name.

Pure text functions over the portal's names, shared by matching (bot.procedures) and composing
(bot.procedure_text, bot.procedure_compose).
"""
from __future__ import annotations

import re
from functools import lru_cache

from bot.procedure_terms import raw_tokens
from index.vietnamese import fold, normalized_tokens

RE_PAREN = re.compile(r"\(([^()]*)\)")
# How and where a procedure is filed, repeated across hundreds of names ("… bằng dịch vụ công trực tuyến một phần
# hoặc trực tiếp thực hiện tại cấp trung ương, cấp tỉnh, cấp xã"): it says nothing about what the procedure is,
# so it must not dilute the share of the name a citizen's question covers.
RE_NAME_BOILERPLATE = re.compile(
    r"(?:thực hiện )?(?:bằng |qua )?(?:dịch vụ công (?:trực tuyến )?|trực tuyến )(?:toàn trình|một phần)(?: hoặc trực tiếp)?"
    r"|(?:thực hiện )?(?:tại|ở) (?:cấp (?:trung ương|bộ|tỉnh|xã|huyện)(?:,? (?:và |hoặc )?)?)+", re.I)
# Where an official name stops naming the procedure and starts explaining it: "Chứng thực bản sao | từ bản chính
# giấy tờ …", "Chứng thực chữ ký | trong các giấy tờ …". The head is how people say it; it names the record only
# when no other record's name has the same head, and has at least SHORT_MIN_SYLLABLES syllables.
# "từ" before a figure starts a range that tells variants apart ("… cho người từ đủ 14 tuổi trở lên" vs "… dưới 14
# tuổi"), not an explanation.
RE_QUALIFIER = re.compile(r"\s(?:từ(?!\s+(?:đủ\s+)?\d)|trong các|trong|mà)\s", re.I)
SHORT_MIN_SYLLABLES = 4
# "… (thực hiện tại cấp tỉnh)": the level a variant of a procedure is filed at (group 1).
RE_LEVEL_SUFFIX = re.compile(r"\s*\((?:thực hiện )?(?:tại |ở )?(?:cấp )?(xã|huyện|tỉnh|trung ương|bộ)[^()]*\)\s*$",
                             re.I)
RE_FULL_ONLINE = re.compile(r"toàn trình", re.I)
RE_LIST_SEP = re.compile(r"[,;]\s+(?![^()]*\))")  # a comma or semicolon outside parentheses


def level_of(title: str) -> str | None:
    """"huyện" for "… (thực hiện tại cấp huyện)"; None when the name states no level."""
    m = RE_LEVEL_SUFFIX.search(title)
    return m.group(1).lower() if m else None


def base_title(title: str) -> str:
    """The name without its level suffix: "Cấp đổi thẻ căn cước (thực hiện tại cấp tỉnh)" → "cấp đổi thẻ căn cước"."""
    return RE_LEVEL_SUFFIX.sub("", title).strip().lower()


def core_name(title: str) -> str:
    """What a name says the procedure is, without how or at which level it is filed, folded: the police
    publish one service twice, "… bằng dịch vụ công trực tuyến toàn trình" and "… một phần hoặc trực tiếp",
    and "giấy chứng nhận" and "chứng nhận" are one paper."""
    text = fold(RE_NAME_BOILERPLATE.sub(" ", base_title(title)))
    text = " ".join(re.findall(r"[a-z0-9]+", text)).replace("giay chung nhan", "chung nhan")
    return " ".join(sorted(set(text.split())))


def short_name(title: str) -> str | None:
    """The head of an official name before its first qualifier ("từ", "trong", "mà"), without parentheses or
    "Thủ tục"; None when the name has no qualifier (it is its own head)."""
    text = " ".join(RE_PAREN.sub(" ", RE_NAME_BOILERPLATE.sub(" ", title)).split())
    text = re.sub(r"^thủ tục\s+", "", text, flags=re.I)
    m = RE_QUALIFIER.search(text)
    return text[:m.start()].strip(" ,;:-.") if m else None


def unique_short_names(titles: list[str]) -> list[str | None]:
    """Each title's head when it has one, long enough, and no other title shares it."""
    heads = [short_name(t) for t in titles]
    keys = [fold(h) if h else "" for h in heads]
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return [h if h and counts[k] == 1 and len(k.split()) >= SHORT_MIN_SYLLABLES else None for h, k in zip(heads, keys)]


def list_parts(name: str) -> list[str]:
    """The comma- or semicolon-separated parts of a name ("Cấp lại", "đổi", "điều chỉnh … sổ BHXH", "thẻ BHYT")."""
    parts = [p for p in RE_LIST_SEP.split(RE_NAME_BOILERPLATE.sub(" ", name)) if p.strip()]
    return parts or [name]


def written_words(text: str) -> list[str]:
    """Lowercase words with their marks."""
    return [t.raw for t in raw_tokens(text)]


# "làm khai tử", "xin hộ chiếu": citizens say "làm" or "xin" for the action a name opens with ("Đăng ký khai tử",
# "Cấp hộ chiếu phổ thông"). Read from the catalogue's own names: the two words after an opening action.
NAME_ACTIONS = ("đăng ký", "cấp")
GENERIC_VERBS = frozenset({"lam", "xin", "di"})  # "làm/xin/đi khai tử" → "đăng ký khai tử"


def action_heads(titles: list[str]) -> dict[tuple[str, str], str]:
    """(folded first two words after the action) → the action, for names that open with one of NAME_ACTIONS; a
    pair opened by different actions in different names is left out ("cấp" or "đăng ký" would be a guess)."""
    heads: dict[tuple[str, str], set[str]] = {}
    for title in titles:
        text = " ".join(RE_PAREN.sub(" ", title).split())
        text = re.sub(r"^thủ tục\s+", "", text, flags=re.I).lower()
        for action in NAME_ACTIONS:
            if text.startswith(action + " "):
                rest = [fold(w) for w in re.findall(r"[\wđ]+", text[len(action):])][:2]
                if len(rest) == 2:
                    heads.setdefault((rest[0], rest[1]), set()).add(action)
    return {k: next(iter(v)) for k, v in heads.items() if len(v) == 1}


def with_action(question: str, heads: dict[tuple[str, str], str]) -> str:
    """"đi làm khai tử" → "đi đăng ký khai tử" when a name reads "Đăng ký khai tử"; other questions unchanged."""
    words = question.split()
    folded = [re.sub(r"[^a-z0-9]", "", fold(w)) for w in words]
    for i in range(len(words) - 2):
        action = heads.get((folded[i + 1], folded[i + 2])) if folded[i] in GENERIC_VERBS else None
        if action and fold(" ".join(words[max(0, i - 2):i])) != fold(action):
            words[i] = action
    return " ".join(words)


@lru_cache(maxsize=256)
def _padded(folded_question: str) -> str:
    return f" {' '.join(normalized_tokens(folded_question))} "


def head_said(folded_question: str, name: str) -> int:
    """How many of the name's first syllables the question says in a row: a citizen says the head of a long
    official name ("chứng thực bản sao từ bản chính") and never its tail ("… do cơ quan, tổ chức có thẩm quyền …")."""
    words = normalized_tokens(re.sub(r"^thủ tục\s+", "", name, flags=re.I))
    text = _padded(folded_question)
    k = 0
    while k < len(words) and f" {' '.join(words[:k + 1])} " in text:
        k += 1
    return k
