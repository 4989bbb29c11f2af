"""The `--where` filter: which captions a bulk operation (or the frequency table) looks at.

Syntax: terms joined by `and` (or plain spaces) form a group; groups joined by `or` are
alternatives (`and` binds tighter than `or`; there are no parentheses). `not` or a leading `-`
negates the next term. Quote a value that has spaces: `tag:"long hair"` (an unquoted `tag:long hair`
is refused with that hint: a bare word is no term); a value holding one kind of quote goes in the
other kind: `tag:"jack-o'-lantern"`, `tag:'say "cheese"'` (quoted pieces join: `"a'b"'"c'`). Keywords are case-insensitive, and so are `tag:`
values (`tag:solo` finds `SOLO` too: booru tags are lowercase, and CLIP lowercases captions anyway;
a regex can still ask for case with `tag:/(?-i:SOLO)/`); `folder:`, `file:` and `text:` values are
case-sensitive (file names are, on Linux), and `text:` looks at the whole first line.

    tag:VALUE      the caption has a tag matching VALUE (exact, glob with * ?, or /regex/; any case;
                   a tag with * or ? in it, exactly: a regex with them escaped, tag:/\\?/; Unicode
                   compares composed, NFC, here and below: a decomposed `café` copied from macOS is `café`)
    folder:VALUE   the caption's folder name matches VALUE (glob, e.g. folder:10_alice, folder:*alice*)
    file:VALUE     the image's name or the caption file's name matches VALUE (glob, e.g. file:*.jpg,
                   file:img_00*.txt)
    text:VALUE     the first line contains VALUE (plain substring)
    tags<N tags>N tags=N   the caption has fewer/more/exactly N tags
    tokens<N tokens>N tokens=N   the first line has fewer/more/exactly about N CLIP tokens (core.dataset's
                   estimate_clip_tokens: the count of the long-caption warning, which errs low; tokens>75
                   finds the captions sd-scripts cuts with max_token_length unset)
    empty          the caption has no tags (or no caption file)
    missing        there is no caption file yet
    multiline      the file has text after its first line (sd-scripts reads only the first)
    reg            the image is a regularisation image (its concept folder is in a reg folder: `reg/`
                   beside `img/`, or a config's reg_data_dir); `not reg`: the training images

Examples: `tag:solo and not tag:1girl`, `folder:*alice* or tag:"alice (character)"`, `-tag:rating*`,
`tags>40`, `tokens>75`, `missing or empty`, `reg and missing`.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from collections.abc import Callable, Sequence

from loratui.core.captions.files import Caption
from loratui.core.captions.patterns import pattern_kind, tag_matcher
from loratui.core.captions.tagkey import nfc
from loratui.core.dataset import IMAGE_EXTENSIONS, estimate_clip_tokens
from loratui.core.errors import LoratuiError

Predicate = Callable[[Caption], bool]
ImageNames = Callable[[Caption], Sequence[str]]  # the names of the images a caption belongs to
IsReg = Callable[[Caption], bool]  # whether a caption is a regularisation image's
KEYS = ("tag", "folder", "file", "text")
FLAGS = ("empty", "missing", "multiline", "reg")
_COUNT = re.compile(r"(tags|tokens)([<>=])(\d+)$")
COUNTS = ("tags", "tokens")  # the count terms: tags<N..., tokens<N...
SYNTAX_HELP = ("tag:X, -tag:X, folder:X, file:X, text:X, tags>N, tags<N, tags=N, tokens>N (about N CLIP tokens), "
               "tokens<N, tokens=N, empty, missing, multiline, reg, joined by and / or / not")


def images_beside() -> ImageNames:
    """The image names a caption belongs to, from its folder: files with the caption's stem and an image
    extension (a.png and a.jpg share a.txt). Each folder is listed once per call of this function (one
    --where compiled), so 3,000 captions in five folders cost five listings; a folder that cannot be
    read gives no names (the caption's own name still matches)."""
    by_folder: dict[str, dict[str, list[str]]] = {}

    def names(caption: Caption) -> Sequence[str]:
        folder = os.fspath(caption.path.parent)
        stems = by_folder.get(folder)
        if stems is None:
            stems = by_folder[folder] = {}
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        stem, ext = os.path.splitext(entry.name)
                        if ext.lower() in IMAGE_EXTENSIONS:
                            stems.setdefault(stem, []).append(entry.name)
            except OSError:
                pass
        return stems.get(os.path.splitext(caption.path.name)[0], ())

    return names


def reg_folders() -> IsReg:
    """Whether a caption is a regularisation image's, told from its concept folder's parent (core.dataset's
    ``regularised_train_dir``: `reg/` beside `img/`, or the reg_data_dir of a config beside it). Each
    parent folder is looked at once per call of this function (one --where compiled)."""
    from loratui.core.dataset import regularised_train_dir

    by_parent: dict[str, bool] = {}

    def is_reg(caption: Caption) -> bool:
        parent = caption.path.parent.parent
        key = os.fspath(parent)
        found = by_parent.get(key)
        if found is None:
            try:
                found = by_parent[key] = regularised_train_dir(parent) is not None
            except (OSError, LoratuiError):
                found = by_parent[key] = False
        return found

    return is_reg


def _term(token: str, image_names: ImageNames, is_reg: IsReg) -> Predicate:
    low = token.lower()
    if low in FLAGS:
        if low == "empty":
            return lambda c: not c.tags
        if low == "missing":
            return lambda c: not c.exists
        if low == "reg":
            return is_reg
        return lambda c: c.multiline
    count = _COUNT.match(low)
    if not count:
        _refuse_bad_count(token)
    else:
        what, op, n = count.group(1), count.group(2), int(count.group(3))
        size: Callable[[Caption], int] = _token_count if what == "tokens" else _tag_count
        if op == "<":
            return lambda c: size(c) < n
        if op == ">":
            return lambda c: size(c) > n
        return lambda c: size(c) == n
    key, sep, value = token.partition(":")
    key = key.lower()
    if not sep or key not in KEYS or not value:
        raise LoratuiError(f"--where: cannot read {token!r}: use {SYNTAX_HELP}")
    if key == "tag":
        match = tag_matcher([value], ignore_case=True)
        return lambda c: any(map(match, c.tags))
    # names and text compare composed (NFC), as tags do: macOS writes names (and copied captions) NFD
    value = nfc(value)
    if key == "folder":
        return lambda c: fnmatch.fnmatchcase(nfc(c.path.parent.name), value)
    if key == "file":
        # the File column shows the image's name (file:*.jpg); the caption's (file:*.txt) matches too
        return lambda c: (fnmatch.fnmatchcase(nfc(c.path.name), value)
                          or any(fnmatch.fnmatchcase(nfc(name), value) for name in image_names(c)))
    return lambda c: value in nfc(c.first_line)


def _count_term(low: str) -> str | None:
    """``tags`` or ``tokens`` when ``low`` starts like a count term (`tags>`, `tokens=x`), else None."""
    for what in COUNTS:
        if low.startswith(what) and low[len(what):len(what) + 1] in ("<", ">", "="):
            return what
    return None


def _refuse_bad_count(token: str) -> None:
    """A count term with no whole number after its sign (`tokens>x`, `tags>`): one line naming it."""
    what = _count_term(token.lower())
    if what == "tags":
        raise LoratuiError(f"--where: cannot read {token!r}: a tag count is tags<N, tags>N or tags=N with a "
                           "whole number N (e.g. tags>40)")
    if what == "tokens":
        raise LoratuiError(f"--where: cannot read {token!r}: a CLIP token count is tokens<N, tokens>N or tokens=N "
                           "with a whole number N (e.g. tokens>75)")


def _tag_count(caption: Caption) -> int:
    return len(caption.tags)


def _token_count(caption: Caption) -> int:
    """About how many CLIP tokens the caption's first line is: the long-caption warning's count."""
    return estimate_clip_tokens(caption.first_line.strip()) if caption.exists else 0


def _tokens(expression: str) -> list[str]:
    """Shell-like words: quotes group, but a backslash is kept (regexes such as /\\d+girls/ need it)."""
    lexer = shlex.shlex(expression, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    return list(lexer)


def _key_value(token: str) -> tuple[str, str, str] | None:
    """(sign, key, value) of a `key:value` term (sign "-" or ""), or None for anything else."""
    sign = "-" if token.startswith("-") and len(token) > 1 else ""
    key, sep, value = token[len(sign):].partition(":")
    if sep and key.lower() in KEYS and value:
        return sign, key, value
    return None


def _is_bare(token: str) -> bool:
    """A plain word: no keyword, flag, tag count or `key:value` (the --where language has no such term)."""
    low = token.lower().lstrip("-")
    return (low not in ("and", "or", "not") and low not in FLAGS and not low.startswith(COUNTS)
            and ":" not in low)


def _quoted(term: tuple[str, str, str], words: list[str]) -> str:
    sign, key, value = term
    return f'{sign}{key}:"{" ".join([value, *words])}"'


def _quote_advice(term: tuple[str, str, str], words: list[str]) -> str:
    what = "tags" if term[1].lower() == "tag" else "values"
    return f"{what} with spaces need quotes: {_quoted(term, words)}"


def _quote_error(term: tuple[str, str, str], words: list[str]) -> LoratuiError:
    return LoratuiError(f"--where: {words[0]!r} is not a term: {_quote_advice(term, words)}")


def quote_hint(text: str) -> str | None:
    """For the app's filter box, where a plain word is free text rather than an error: the hint
    ``tags with spaces need quotes: tag:"long hair"`` when an unquoted `key:value` is followed by plain
    words (`tag:long hair`), else None. It cannot know whether `tag:solo blue` meant the tag "solo"
    plus the word "blue", so show it as a hint (say, when nothing matches), never as an error."""
    try:
        tokens = _tokens(text or "")
    except ValueError:
        return None
    for i, token in enumerate(tokens[:-1]):
        term = _key_value(token)
        if term is None or " " in term[2]:  # a quoted value already holds its spaces
            continue
        words = []
        for word in tokens[i + 1:]:
            if not _is_bare(word):
                break
            words.append(word)
        if words:
            return _quote_advice(term, words)
    return None


def _negate(pred: Predicate) -> Predicate:
    return lambda c: not pred(c)


def _unclosed_quote(expression: str) -> LoratuiError:
    """A quote left open (`tag:jack-o'-lantern`): say which term and how to quote its value."""
    for word in expression.split():
        quotes = [q for q in "'\"" if word.count(q) % 2]
        term = _key_value(word)
        if quotes and term is not None and not term[2].startswith(quotes[0]):  # key:"long hair: only unclosed
            sign, key, value = term
            other = '"' if quotes[0] == "'" else "'"
            if other not in value:
                return LoratuiError(f"--where: a quote is not closed in {word!r}: quote a value that holds "
                                    f"{quotes[0]} with the other quote mark: {sign}{key}:{other}{value}{other}")
    return LoratuiError(f"--where: a quote is not closed in {expression!r}: close it (tag:\"long hair\"); a value "
                        "that holds a quote mark goes in the other one (tag:\"jack-o'-lantern\")")


def parse_where(expression: str | None, image_names: ImageNames | None = None,
                is_reg: IsReg | None = None) -> Predicate | None:
    """Compile a --where expression; None (or blank) selects every caption. ``image_names``: the names of
    a caption's images, for `file:` (default: listed from the caption's folder, ``images_beside``);
    ``is_reg``: whether a caption is a reg image's, for `reg` (default: told from its folders, ``reg_folders``;
    the app passes the rows it listed as reg, a config's reg_data_dir elsewhere included)."""
    if expression is None or not expression.strip():
        return None
    try:
        tokens = _tokens(expression)
    except ValueError:  # shlex's only complaint here: "No closing quotation" (there is no escape char)
        raise _unclosed_quote(expression) from None
    image_names = image_names or images_beside()
    is_reg = is_reg or reg_folders()
    groups: list[list[Predicate]] = [[]]
    negate = False
    pending = False  # an and/or still waiting for its right-hand term
    for index, token in enumerate(tokens):
        low = token.lower()
        if low == "or":
            if not groups[-1] or negate or pending:
                raise LoratuiError(f"--where: 'or' needs a term on each side in {expression!r}")
            groups.append([])
            pending = True
            continue
        if low == "and":
            if not groups[-1] or negate or pending:
                raise LoratuiError(f"--where: 'and' needs a term on each side in {expression!r}")
            pending = True
            continue
        if low == "not":
            negate = not negate
            continue
        previous = _key_value(tokens[index - 1]) if index else None
        if previous is not None and _is_bare(token):  # tag:long hair: the user meant one tag
            words = []
            for word in tokens[index:]:
                if not _is_bare(word):
                    break
                words.append(word)
            raise _quote_error(previous, words)
        if token.startswith("-") and len(token) > 1:
            token = token[1:]
            negate = not negate
        pred = _term(token, image_names, is_reg)
        groups[-1].append(_negate(pred) if negate else pred)
        negate = pending = False
    if not groups[-1] or negate or pending:
        raise LoratuiError(f"--where: expression ends too early: {expression!r}")
    if len(groups) == 1 and len(groups[0]) == 1:
        return groups[0][0]

    def selected(caption: Caption) -> bool:
        return any(all(p(caption) for p in group) for group in groups)

    return selected


def combine_where(first: str | None, second: str | None) -> str | None:
    """``first and second`` as one expression, distributing over `or` (there are no parentheses)."""
    if not first or not first.strip():
        return second or None
    if not second or not second.strip():
        return first
    parse_where(first)
    parse_where(second)

    def groups(expression: str) -> list[list[str]]:
        out: list[list[str]] = [[]]
        for token in _tokens(expression):
            if token.lower() == "or":
                out.append([])
            else:
                out[-1].append(token)
        return out

    return " or ".join(shlex.join(a + ["and"] + b) for a in groups(first) for b in groups(second))


_REGEX_SPECIAL = frozenset("\\.^$*+?{}[]|()")


def tag_term(tag: str) -> str:
    """The filter term that finds exactly ``tag`` (the tag list's Enter), in this --where language: a tag that a plain value would read as a glob or a regex (`?`, `*bg*`,
    `/x/`) becomes a regex with those marks escaped (`tag:/\\?/`); a value with spaces or quotes is
    quoted, with the other quote mark where it holds one (`tag:"jack-o'-lantern"`), and in pieces
    where it holds both (quoted pieces join into one value)."""
    value = tag
    if pattern_kind(tag)[0] != "exact":
        value = "/" + "".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in tag) + "/"
    if not any(ch.isspace() or ch in "\"':" for ch in value):
        return f"tag:{value}"
    if '"' not in value:
        return f'tag:"{value}"'
    if "'" not in value:
        return f"tag:'{value}'"
    return "tag:" + "'\"'".join(f'"{piece}"' for piece in value.split('"'))


def any_tag_term(tags: Sequence[str]) -> str:
    """The filter that finds the captions holding any of ``tags``, each found exactly (``tag_term``)."""
    return " or ".join(tag_term(tag) for tag in tags)
