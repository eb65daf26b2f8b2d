"""Filter expressions over a score table: ``curate --where 'jerky>5000 and frozen_camera'``.

Grammar (no Python is evaluated; words are case-sensitive)::

    expr  := term ("or" term)*
    term  := factor ("and" factor)*
    factor:= "not" factor | "(" expr ")" | NAME [OP NUMBER]
    OP    := < | <= | > | >= | == | = | !=

``NAME OP NUMBER`` compares a value of the episode: a signal's score (``scores[NAME]``), or one of
``predicted`` (the predicted probability of a good rating), ``findings`` / ``errors`` / ``warnings``
(how many findings, of any / that severity), ``episode`` (its index). An episode without that
value (never measured, no prediction yet) does not match. A bare ``NAME`` is true when that signal
fired in the episode (a finding of it); bare ``predicted`` when a prediction exists, bare
``findings`` / ``errors`` / ``warnings`` when there is at least one. A name the table does not know
is an error (a typo would otherwise select nothing without a word).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from backend.errors import StudioError
from backend.scores.table import EpisodeScores, ScoreTable

SPECIAL = ("predicted", "findings", "errors", "warnings", "episode")
KEYWORDS = ("and", "or", "not")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt, "=": operator.eq,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<op><=|>=|==|!=|<|>|=)|(?P<paren>[()])"
    r"|(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.:/-]*))"
)

Predicate = Callable[[EpisodeScores], bool]


@dataclass(frozen=True)
class _Token:
    kind: str  # op | paren | number | name | end
    text: str
    at: int


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            where = len(text) - len(text[at:].lstrip())
            raise StudioError(f"--where: cannot read {text[where:where + 12]!r} in {text!r}")
        kind = match.lastgroup or ""
        found.append(_Token(kind, match.group(kind), match.start(kind)))
        at = match.end()
    found.append(_Token("end", "", len(text)))
    return found


def _value(name: str, episode: EpisodeScores) -> float | None:
    if name == "predicted":
        return episode.predicted_rating
    if name == "findings":
        return float(len(episode.findings))
    if name in ("errors", "warnings"):
        return float(sum(f.severity == name[:-1] for f in episode.findings))
    if name == "episode":
        return float(episode.episode)
    return episode.scores.get(name)


def _fired(name: str, episode: EpisodeScores) -> bool:
    if name == "predicted":
        return episode.predicted_rating is not None
    if name in ("findings", "errors", "warnings"):
        return bool(_value(name, episode))
    if name == "episode":
        return True
    return any(f.signal == name for f in episode.findings)


def known_names(table: ScoreTable) -> set[str]:
    """Every name an expression over ``table`` may use."""
    names = set(SPECIAL) | set(table.signals)
    for item in table.episodes:
        names.update(item.scores)
        names.update(f.signal for f in item.findings)
    return names


class _Parser:
    def __init__(self, text: str, known: set[str] | None) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0
        self.known = known

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, what: str, token: _Token) -> StudioError:
        found = f"{token.text!r}" if token.kind != "end" else "the end"
        return StudioError(f"--where: expected {what} but found {found} at column {token.at + 1} of {self.text!r}")

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek().kind != "end":
            raise self.fail("'and', 'or' or the end", self.peek())
        return predicate

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek().kind == "name" and self.peek().text == "or":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda e: any(p(e) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek().kind == "name" and self.peek().text == "and":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda e: all(p(e) for p in parts))

    def factor(self) -> Predicate:
        token = self.take()
        if token.kind == "name" and token.text == "not":
            inner = self.factor()
            return lambda e: not inner(e)
        if token.kind == "paren" and token.text == "(":
            inner = self.expr()
            closing = self.take()
            if closing.text != ")":
                raise self.fail("')'", closing)
            return inner
        if token.kind != "name" or token.text in KEYWORDS:
            raise self.fail("a signal name, 'not' or '('", token)
        name = token.text
        if self.known is not None and name not in self.known:
            known = ", ".join(sorted(self.known))
            raise StudioError(f"--where: unknown signal {name!r} (known: {known})")
        if self.peek().kind != "op":
            return lambda e: _fired(name, e)
        compare = _OPS[self.take().text]
        number = self.take()
        if number.kind != "number":
            raise self.fail("a number", number)
        limit = float(number.text)

        def test(episode: EpisodeScores) -> bool:
            value = _value(name, episode)
            return value is not None and compare(float(value), limit)

        return test


def parse_where(text: str, table: ScoreTable | None = None) -> Predicate:
    """The predicate of ``text``; with ``table`` every name must be one it knows."""
    if not text.strip():
        raise StudioError("--where: the expression is empty")
    return _Parser(text, known_names(table) if table is not None else None).parse()


def select(table: ScoreTable, text: str) -> list[int]:
    """The episodes of ``table`` that ``text`` selects, in episode order."""
    predicate = parse_where(text, table)
    return [item.episode for item in table.episodes if predicate(item)]
