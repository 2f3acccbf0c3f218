"""Serverless Devs 3 magic variables, resolved the way `s` resolves them (as far as s.yaml uses them).

`s` evaluates each `${...}` of a string value as an (art-template) JavaScript expression:
a string that is exactly one `${...}` takes the expression's value, of any type (an object
from `vars`, a boolean); otherwise each `${...}` is replaced by its text. The subset here:

    expr    := compare ('?' expr ':' expr)?
    compare := primary (('===' | '!==') primary)?
    primary := 'string' | env('NAME'[, 'default']) | config('KEY') | vars.a.b | true | false | ( expr )

`env(name, default)` is the variable when set and non-empty, else the default, else an error
(exactly `s`'s rule: an empty variable counts as unset). `?:` evaluates only the branch taken, as
JavaScript does — so `env('X must be 0 or 1')` (not a variable name: never set) in a branch is
how s.yaml refuses a value with s's own error, "env('X must be 0 or 1') not found" — but the
other branch is still read, and a real variable without a default there is reported all the same.
`config(key)` reads `s config` values; without them it stays literal, as `s preview` leaves it. Anything else raises
UnsupportedExpression, so s.yaml cannot drift into syntax these tests do not understand;
tests/deploy/test_s_preview.py compares the result with `s preview` where `s` is installed.
`vars` are resolved first (they may use env/config), then the rest of the document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# s's own rule: lazy up to the first "}" (so an expression cannot contain one).
EXPRESSION = re.compile(r"\$\{([\w\W]*?)\}")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN = re.compile(r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>===|!==|[?:(),.])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))")


class UnsupportedExpression(ValueError):
    """An expression outside the subset this resolver (and these tests) understand."""


class UnresolvedVariable(KeyError):
    """env('X') with X unset and no default: `s` stops with "env('X') not found"."""


def _truthy(value: Any) -> bool:
    """JavaScript truthiness, for the values s.yaml can produce."""
    if isinstance(value, bool):
        return value
    return value is not None and value not in ("", 0)


class _Parser:
    def __init__(self, text: str, scope: Mapping[str, Any]) -> None:
        self.text = text
        self.scope = scope
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise UnsupportedExpression(f"cannot read {text[pos:]!r} in ${{{text}}}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.skipping = 0  # > 0: inside a branch not taken (read, not evaluated)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise UnsupportedExpression(f"expected {value or 'more'} in ${{{self.text}}}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.expr()
        if self.peek() is not None:
            raise UnsupportedExpression(f"unexpected {self.peek()!r} in ${{{self.text}}}")
        return value

    def expr(self) -> Any:
        condition = self.compare()
        if self.peek() == ("op", "?"):
            self.take("?")
            taken = _truthy(condition)
            yes = self._branch(taken)
            self.take(":")
            no = self._branch(not taken)
            return yes if taken else no
        return condition

    def _branch(self, taken: bool) -> Any:
        self.skipping += 0 if taken else 1
        try:
            return self.expr()
        finally:
            self.skipping -= 0 if taken else 1

    def compare(self) -> Any:
        left = self.primary()
        token = self.peek()
        if token in (("op", "==="), ("op", "!==")):
            self.take()
            right = self.primary()
            same = type(left) is type(right) and left == right
            return same if token == ("op", "===") else not same
        return left

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1]
        if (kind, text) == ("op", "("):
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "name" and text in ("true", "false"):
            return text == "true"
        if kind == "name" and text in ("env", "config"):
            args = self.arguments()
            return self.call(text, args)
        if kind == "name" and text == "vars":
            value: Any = self.scope.get("vars", {})
            while self.peek() == ("op", "."):
                self.take(".")
                _, key = self.take()
                if not isinstance(value, Mapping) or key not in value:
                    raise UnsupportedExpression(f"vars has no {key!r} (in ${{{self.text}}})")
                value = value[key]
            return value
        raise UnsupportedExpression(f"{text!r} is not supported (in ${{{self.text}}})")

    def arguments(self) -> list[Any]:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ("op", ")"):
            args.append(self.expr())
            if self.peek() == ("op", ","):
                self.take(",")
        self.take(")")
        return args

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "env":
            if len(args) not in (1, 2) or not isinstance(args[0], str):
                raise UnsupportedExpression(f"env takes a name and an optional default (in ${{{self.text}}})")
            value = self.scope["env"].get(args[0])
            if value:
                return value
            if len(args) == 2 and args[1] is not None:
                return args[1]
            if self.skipping and not VARIABLE_NAME.fullmatch(args[0]):
                return None  # the refusal idiom, in a branch not taken
            raise UnresolvedVariable(f"env('{args[0]}') not found")
        if len(args) != 1 or not isinstance(args[0], str):
            raise UnsupportedExpression(f"config takes one key (in ${{{self.text}}})")
        config = self.scope.get("config")
        if config is None or args[0] not in config:
            return f"${{config('{args[0]}')}}"  # s preview leaves it so
        return config[args[0]]


def evaluate(expression: str, scope: Mapping[str, Any]) -> Any:
    return _Parser(expression, scope).parse()


def _js_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def resolve_string(text: str, scope: Mapping[str, Any]) -> Any:
    whole = EXPRESSION.fullmatch(text)
    if whole is not None:
        return evaluate(whole.group(1), scope)
    return EXPRESSION.sub(lambda m: _js_text(evaluate(m.group(1), scope)), text)


def resolve_value(value: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return resolve_string(value, scope)
    if isinstance(value, Mapping):
        return {k: resolve_value(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, scope) for v in value]
    return value


def resolve(document: Mapping[str, Any], env: Mapping[str, str], config: Mapping[str, str] | None = None) -> Any:
    """The whole s.yaml document with every variable resolved."""
    scope: dict[str, Any] = {"env": env, "config": config}
    scope["vars"] = resolve_value(document.get("vars") or {}, scope)
    resolved = resolve_value({k: v for k, v in document.items() if k != "vars"}, scope)
    resolved["vars"] = scope["vars"]
    return resolved


def expressions(value: Any) -> list[str]:
    """Every `${...}` expression text in a document, in order."""
    found: list[str] = []
    if isinstance(value, str):
        found += EXPRESSION.findall(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            found += expressions(v)
    elif isinstance(value, list):
        for v in value:
            found += expressions(v)
    return found
