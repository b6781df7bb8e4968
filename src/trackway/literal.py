"""A forgiving reader for JavaScript object literals as pasted from docs and consoles.

Vendor documentation and browser consoles give payloads as JavaScript, not JSON:
single quotes, unquoted keys, trailing commas, ``//`` comments, calls such as
``cact('trigger', 'purchase', {...})`` or ``dataLayer.push({...})``. This module
reads them into the same Python values a JSON decoder gives (integers as ``int``,
other numbers as exact ``Decimal``), and says in ``notes`` what it had to assume:

- a missing comma between two members on different lines is restored;
- bare words at the start of the line after a ``//`` comment, where a key is
  expected and no ``:`` follows, are the tail of that comment wrapped onto the next
  line, and are skipped (with the commas between them). A stray word anywhere else
  (``{event: 'search', oops search_term: 'Tee'}``) is a :class:`ParseError` at its
  line and column: nothing says what it meant;
- an expression such as ``window.location.href`` is read as its source text;
- a call ``f(a, b)`` is read as the array ``[a, b]`` (``push(x)`` as ``x``).

The name of each top-level call is kept (``callees``: ``insend`` for
``insend('event', ...)``), since the array it reads as does not say which function
was called; auto-detection uses it.

It is pure: no I/O, and :class:`~trackway.errors.ParseError` (with line and column)
is the only exception it raises.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec

from trackway.errors import ParseError
from trackway.rules.values import MAX_DEPTH, NUMBER_MAX_DIGITS

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\u00a0\ufeff]+)
  | (?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z)|<code>)
  | (?P<string>"(?:[^"\\\n]|\\.)*(?P<dq>")?|'(?:[^'\\\n]|\\.)*(?P<sq>')?)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)
  | (?P<punct>[{}\[\]:,();])
  | (?P<other>\.\.\.|.)
    """,
    re.VERBOSE | re.DOTALL,
)
# A block comment or a string not closed matches to the end of the text (of its line) as
# one token, which _tokenize then reads as not closed: a pattern that failed there instead
# was tried again from every later "/*" or quote, each time to the end, and a 60 kB body
# of "/* " cost 8 s of CPU (120 kB, 31 s).
_UNCLOSED = {
    "/*": "a /* comment that is never closed",
    '"': 'a " string that is never closed',
    "'": "a ' string that is never closed",
}

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "/": "/", "\\": "\\"}
_json = msgspec.json.Decoder(float_hook=Decimal)
_OPEN = frozenset("{[(")
_CLOSE = frozenset("}])")
_INT_DIGITS = NUMBER_MAX_DIGITS + 1


class _Tok:
    __slots__ = ("comment_before", "kind", "line", "newline_before", "pos", "text")

    def __init__(
        self, kind: str, text: str, pos: int, line: int, newline_before: bool, comment_before: bool
    ) -> None:
        self.kind = kind
        self.text = text
        self.pos = pos
        self.line = line
        self.newline_before = newline_before
        # a line comment ends the line before this token: a wrapped comment may go on here
        self.comment_before = comment_before


class LiteralReader:
    """Reads one source text; ``values`` are the top-level values, ``notes`` the assumptions."""

    def __init__(self, text: str, source: str = "<input>") -> None:
        self.text = text
        self.source = source
        self.notes: list[str] = []
        # the function each top-level value was called with (None: not a call), as read_all finds them
        self.callees: list[str | None] = []
        # the deepest nesting of (), [] and {}, counted up to MAX_DEPTH + 1: read_all refuses more
        self.depth = 0
        self.toks = self._tokenize(text)
        self.i = 0

    # -- tokens ---------------------------------------------------------------
    def _tokenize(self, text: str) -> list[_Tok]:
        toks: list[_Tok] = []
        line = 1
        newline = False
        comment = False  # a // comment since the last token
        depth = 0
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup or "other"
            chunk = m.group()
            if (kind == "string" and m.group("dq") is None and m.group("sq") is None) or (
                kind == "comment" and chunk.startswith("/*") and (len(chunk) < 4 or not chunk.endswith("*/"))
            ):
                toks.append(
                    _Tok(
                        "unclosed",
                        chunk[:2] if kind == "comment" else chunk[0],
                        m.start(),
                        line,
                        newline,
                        False,
                    )
                )
                break  # the reading fails at it: nothing after it is read
            if kind in ("ws", "comment"):
                if "\n" in chunk:
                    newline = True
                if kind == "comment" and chunk.startswith("//"):
                    comment = True
                line += chunk.count("\n")
                continue
            if kind == "punct":
                if chunk in _OPEN:
                    depth += 1
                    if depth > self.depth:
                        self.depth = depth
                        if depth > MAX_DEPTH:  # too deep: the rest is not read, so not tokenized
                            break
                elif chunk in _CLOSE:
                    depth -= 1
            toks.append(_Tok(kind, chunk, m.start(), line, newline, comment and newline))
            newline = comment = False
            line += chunk.count("\n")
        toks.append(_Tok("eof", "", len(text), line, True, False))
        return toks

    def _peek(self, offset: int = 0) -> _Tok:
        return self.toks[min(self.i + offset, len(self.toks) - 1)]

    def _next(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def _fail(self, tok: _Tok, expected: str) -> ParseError:
        column = tok.pos - self.text.rfind("\n", 0, tok.pos)
        got = "the end of the input" if tok.kind == "eof" else repr(tok.text)
        if tok.kind == "unclosed":
            got = _UNCLOSED[tok.text]
        return ParseError(f"expected {expected}, got {got}", source=self.source, line=tok.line, column=column)

    def _stray(self, tok: _Tok, nxt: _Tok) -> ParseError:
        """A word where a key is expected, with no ``:`` after it and no comment before it."""
        column = tok.pos - self.text.rfind("\n", 0, tok.pos)
        after = "the end of the input" if nxt.kind == "eof" else repr(nxt.text)
        return ParseError(
            f"expected a key and ':', got the stray word {tok.text!r} before {after}; "
            "remove it, or add the ':' and value it lacks",
            source=self.source,
            line=tok.line,
            column=column,
        )

    def _note(self, tok: _Tok, what: str) -> None:
        self.notes.append(f"line {tok.line}: {what}")

    # -- grammar --------------------------------------------------------------
    def read_all(self) -> list[Any]:
        if self.depth > MAX_DEPTH:  # the grammar recurses: refuse before it starts
            raise ParseError(
                f"expected arrays, objects and calls nested at most {MAX_DEPTH} levels deep, got more",
                source=self.source,
            )
        values: list[Any] = []
        while self._peek().kind != "eof":
            tok = self._peek()
            if tok.kind == "punct" and tok.text == ";":
                self._next()
                continue
            after = self._peek(1)
            called = (
                tok.kind == "name"
                and after.kind == "punct"
                and after.text == "("
                and not after.newline_before
            )
            self.callees.append(re.sub(r"\s+", "", tok.text) if called else None)
            values.append(self.value())
        return values

    @property
    def callee(self) -> str | None:
        """The function the one top-level value was called with (``insend``), or None."""
        return self.callees[0] if len(self.callees) == 1 else None

    def one(self) -> Any:
        """Exactly one top-level value (a payload)."""
        values = self.read_all()
        if len(values) != 1:
            raise ParseError(f"expected one value, found {len(values)}", source=self.source)
        return values[0]

    def value(self) -> Any:
        tok = self._next()
        kind, text = tok.kind, tok.text
        if kind == "punct":
            if text == "{":
                return self._object()
            if text == "[":
                return self._array()
            if text == "(":
                inner = self.value()
                self._expect(")")
                return inner
        elif kind == "string":
            return self._string(tok)
        elif kind == "number":
            # int() of more than 4,300 digits raises (and costs quadratic time): the long
            # ones are read as Decimals, which the screen then reports as too large
            if len(text) <= _INT_DIGITS and text.lstrip("-").isdigit():
                return int(text)
            return Decimal(text)
        elif kind == "name":
            return self._name(tok)
        elif kind == "other" and text == "...":
            self._note(tok, "'...' read as the string '...'")
            return "..."
        raise self._fail(tok, "a value")

    def _expect(self, text: str) -> None:
        tok = self._next()
        if tok.kind != "punct" or tok.text != text:
            raise self._fail(tok, repr(text))

    def _string(self, tok: _Tok) -> str:
        raw = tok.text
        if raw[0] == '"':
            try:
                out: str = _json.decode(raw)
            except (msgspec.DecodeError, UnicodeEncodeError):  # a lone surrogate: read below
                pass
            else:
                return out
        body = raw[1:-1]
        out_chars: list[str] = []
        i = 0
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                if nxt == "u" and i + 5 < len(body) + 1:
                    try:
                        out_chars.append(chr(int(body[i + 2 : i + 6], 16)))
                        i += 6
                        continue
                    except ValueError:
                        pass
                out_chars.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            out_chars.append(c)
            i += 1
        return "".join(out_chars)

    def _name(self, tok: _Tok) -> Any:
        word = re.sub(r"\s+", "", tok.text)
        if word in ("true", "false"):
            return word == "true"
        if word in ("null", "undefined"):
            return None
        after = self._peek()
        if after.kind == "punct" and after.text == "(" and not after.newline_before:
            self._next()
            args: list[Any] = []
            while not (self._peek().kind == "punct" and self._peek().text == ")"):
                args.append(self.value())
                if self._peek().kind == "punct" and self._peek().text == ",":
                    self._next()
                elif not (self._peek().kind == "punct" and self._peek().text == ")"):
                    raise self._fail(self._peek(), "',' or ')' in the arguments")
            self._next()
            if word.endswith("push") and len(args) == 1:
                return args[0]
            return args
        self._note(tok, f"the expression {word} is read as the string {word!r}")
        return word

    def _key(self, tok: _Tok) -> str:
        if tok.kind == "string":
            return self._string(tok)
        if tok.kind in ("name", "number"):
            return tok.text
        raise self._fail(tok, "a key")

    def _object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        tail = 0  # the line of a wrapped comment's tail being skipped (0: none)
        while True:
            tok = self._next()
            if tok.kind == "punct" and tok.text == "}":
                return out
            if tok.kind == "punct" and tok.text == ",":
                continue
            if tok.kind == "other" and tok.text == "...":
                self._note(tok, "'...' (more members elided) is skipped")
                continue
            nxt = self._peek()
            if tok.kind == "name" and not (nxt.kind == "punct" and nxt.text == ":"):
                if tok.comment_before or tok.line == tail:
                    # a comment wrapped onto the next line: the words of that line until the next key
                    tail = tok.line
                    self._note(tok, f"the stray word {tok.text!r} is read as the tail of a wrapped comment")
                    continue
                raise self._stray(tok, nxt)
            tail = 0
            key = self._key(tok)
            self._expect(":")
            out[key] = self.value()
            after = self._peek()
            if after.kind == "punct" and after.text in (",", "}"):
                continue
            if after.newline_before:
                self._note(after, f"a missing comma after {key!r} is restored")
                continue
            raise self._fail(after, "',' or '}' after a member")

    def _array(self) -> list[Any]:
        out: list[Any] = []
        while True:
            tok = self._peek()
            if tok.kind == "punct" and tok.text == "]":
                self._next()
                return out
            if tok.kind == "punct" and tok.text == ",":
                self._next()
                continue
            out.append(self.value())
            after = self._peek()
            if after.kind == "punct" and after.text in (",", "]"):
                continue
            if after.newline_before:
                self._note(after, "a missing comma between array elements is restored")
                continue
            raise self._fail(after, "',' or ']' after an element")


def read_literals(text: str, source: str = "<input>") -> tuple[list[Any], list[str]]:
    """All top-level values of ``text`` and the notes on what was assumed."""
    reader = LiteralReader(text, source)
    values = reader.read_all()
    return values, reader.notes


def read_literal(text: str, source: str = "<input>") -> Any:
    """Exactly one value (a payload) from JavaScript or JSON text."""
    return LiteralReader(text, source).one()
