"""The pages' languages: zh-CN (the default) and en, chosen by a cookie or the browser's Accept-Language.

Texts are English message ids translated by the Babel catalogue `locale/zh_CN/LC_MESSAGES/messages.po`
(compiled in memory when first used: no binary .mo file in the repository); English is the ids themselves.
Amounts are yuan with two decimals and 元; dates are written as people write them (2024年3月5日 / 5 Mar 2024).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Literal

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from yibao.core.money import Fen, format_yuan, parse_yuan

LANG_COOKIE = "yibao_lang"


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"

    @property
    def locale(self) -> str:
        return "zh_CN" if self is Lang.ZH else "en"

    @property
    def html(self) -> str:
        """The `lang` attribute of a page in this language."""
        return "zh-CN" if self is Lang.ZH else "en"

    @property
    def core(self) -> Literal["en", "zh"]:
        """The rules core's language key (stored explanations are keyed `en` / `zh`)."""
        return "zh" if self is Lang.ZH else "en"


def catalogue_path() -> str:
    return str(files("yibao.web") / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po")


@cache
def translations(lang: Lang) -> NullTranslations:
    if lang is Lang.EN:
        return NullTranslations()
    with open(catalogue_path(), "rb") as po:
        catalog = read_po(po, locale="zh_CN")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def choose(cookie: str | None, accept_language: str | None) -> Lang:
    """The cookie's language if set, else the first of zh / en the browser prefers, else Chinese."""
    if cookie in (Lang.ZH.value, Lang.EN.value):
        return Lang(cookie)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, i, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return Lang.ZH
        if tag.startswith("en"):
            return Lang.EN
    return Lang.ZH


class Texts:
    """What a template needs in one language: gettext, amounts and dates."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._t = translations(lang)

    def gettext(self, message: str, **values: object) -> str:
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def yuan(self, fen: Fen | str | None) -> str:
        """An amount as people read it: 8400.00元 / 8400.00 元 (two decimals, the unit 元 in both languages);
        `fen` is integer fen or the services' yuan text."""
        if fen is None:
            return ""
        if isinstance(fen, str):
            fen = -parse_yuan(fen[1:]) if fen.startswith("-") else parse_yuan(fen)
        return f"{format_yuan(fen)}元" if self.lang is Lang.ZH else f"{format_yuan(fen)} 元"

    def day(self, value: date | str | None) -> str:
        if value is None or value == "":
            return ""
        when = date.fromisoformat(value) if isinstance(value, str) else value
        if self.lang is Lang.ZH:
            return format_date(when, "long", locale="zh_CN")  # 2024年3月5日
        return format_date(when, "d MMM y", locale="en")  # 5 Mar 2024

    def moment(self, value: datetime | str | None) -> str:
        if value is None or value == "":
            return ""
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        if self.lang is Lang.ZH:
            return format_datetime(when, "y年M月d日 HH:mm", locale="zh_CN", tzinfo=None)
        return format_datetime(when, "d MMM y HH:mm", locale="en", tzinfo=None)
