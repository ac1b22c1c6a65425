"""Safe column expressions for `derive:` and `transactions.amount`: the parser, no eval.

A small tokenizer and recursive-descent parser accept only: numbers, column names (bare,
or in backticks when they hold spaces or symbols), + - * /, parentheses, comparisons
(which give 1 or 0), and the whitelisted functions below. Anything else (attribute access,
strings, subscripts, other function names such as `__import__`) is rejected at parse time
with the position of the offending token. The standard library only, so the config can be
checked before pandas is imported; derive.py evaluates the trees.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from reportgen.errors import ExpressionError

FUNCTIONS = {"abs": 1, "log": 1, "min": None, "max": None, "year": 1, "days_since": 1}
COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")
TOKEN_RE = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<quoted>`[^`]+`)
  | (?P<op><=|>=|==|!=|[-+*/()<>,])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int  # 0-based offset into the expression


MAX_DEPTH = 100  # nesting (parentheses, signs, calls) and the height of the tree: the
# evaluators recurse once a level, and a sum of 500 columns nested 500 deep


@dataclass(frozen=True)
class Node:
    """A parsed expression: kind is number, column, unary, binary or call."""

    kind: str
    value: object = None
    args: tuple[Node, ...] = ()
    height: int = field(default=1, compare=False)

    def __post_init__(self) -> None:
        height = 1 + max((arg.height for arg in self.args), default=0)
        if height > MAX_DEPTH:
            raise too_deep()
        object.__setattr__(self, "height", height)

    def columns(self) -> list[str]:
        """Every column the expression reads, in order of appearance."""
        found = [str(self.value)] if self.kind == "column" else []
        for arg in self.args:
            found += arg.columns()
        return list(dict.fromkeys(found))


def too_deep() -> ExpressionError:
    return ExpressionError(f"the expression nests more than {MAX_DEPTH} levels deep; split "
                           "it into several derived columns (a sum of many columns into "
                           "partial sums)")


def tokenize(text: str) -> list[Token]:
    """Tokens up to the first character no token allows, which becomes an `error` token.

    The parser raises on reaching it, so `__import__('os')` is reported as the unknown
    function it is, not as a stray quote.
    """
    tokens, position = [], 0
    while position < len(text):
        match = TOKEN_RE.match(text, position)
        if not match:
            tokens.append(Token("error", text[position], position))
            break
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup or "", match.group(), position))
        position = match.end()
    return tokens


def _unexpected_character(text: str, position: int) -> str:
    char = text[position]
    if char == ".":
        why = "attribute access is not allowed"
    elif char in "'\"":
        why = "text in quotes is not allowed (write column names with spaces in `backticks`)"
    elif char in "[]":
        why = "subscripts are not allowed"
    else:
        why = "this character is not allowed"
    return f"{char!r} at position {position + 1}: {why}"


def parse(text: str) -> Node:
    """Parse an expression or raise ExpressionError naming the offending token."""
    if not str(text).strip():
        raise ExpressionError("the expression is empty")
    parser = _Parser(str(text), tokenize(str(text)))
    node = parser.comparison()
    token = parser.peek()
    if token is not None:
        raise ExpressionError(f"unexpected {token.text!r} at position {token.position + 1}")
    return node


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text, self.tokens, self.index = text, tokens, 0
        self.depth = 0

    @contextlib.contextmanager
    def deeper(self) -> Iterator[None]:
        """One more level of parentheses, signs or calls, refused past MAX_DEPTH before
        the parser recurses into it (5,000 parentheses were a RecursionError)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise too_deep()
        yield
        self.depth -= 1

    def peek(self) -> Token | None:
        token = self.tokens[self.index] if self.index < len(self.tokens) else None
        if token is not None and token.kind == "error":
            raise ExpressionError(_unexpected_character(self.text, token.position))
        return token

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ExpressionError(
                f"expected {text!r} at position {token.position + 1}, found {token.text!r}")

    def comparison(self) -> Node:
        left = self.additive()
        token = self.peek()
        if token is not None and token.text in COMPARISONS:
            self.take()
            return Node("binary", token.text, (left, self.additive()))
        return left

    def additive(self) -> Node:
        node = self.term()
        while (token := self.peek()) is not None and token.text in "+-":
            self.take()
            node = Node("binary", token.text, (node, self.term()))
        return node

    def term(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token.text in ("*", "/"):
            self.take()
            node = Node("binary", token.text, (node, self.unary()))
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token.text in "+-":
            self.take()
            with self.deeper():
                operand = self.unary()
            return operand if token.text == "+" else Node("unary", "-", (operand,))
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Node("number", float(token.text))
        if token.kind == "quoted":
            return Node("column", token.text[1:-1])
        if token.kind == "name":
            following = self.peek()
            if following is not None and following.text == "(":
                return self.call(token)
            return Node("column", token.text)
        if token.text == "(":
            with self.deeper():
                node = self.comparison()
                self.expect(")")
            return node
        raise ExpressionError(f"unexpected {token.text!r} at position {token.position + 1}")

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function {name.text!r} at position "
                                  f"{name.position + 1}; allowed: {allowed}")
        self.expect("(")
        with self.deeper():
            args = [self.comparison()]
            while (token := self.peek()) is not None and token.text == ",":
                self.take()
                args.append(self.comparison())
            self.expect(")")
        arity = FUNCTIONS[name.text]
        if arity is not None and len(args) != arity:
            raise ExpressionError(f"{name.text}() takes {arity} argument, got {len(args)}")
        if name.text in ("year", "days_since") and args[0].kind != "column":
            raise ExpressionError(f"{name.text}() takes a date column, e.g. {name.text}(signup)")
        return Node("call", name.text, tuple(args))
