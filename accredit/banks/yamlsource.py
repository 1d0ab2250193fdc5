"""Read YAML safely into plain Python data, remembering the line of every value.

PyYAML's parser (libyaml when it is available) turns the file into events and
this module builds the data from them itself. Only the standard tags for
mappings, sequences, strings, numbers, booleans, null and timestamps are
accepted, so no constructor that can build arbitrary objects is ever called.
Every problem becomes a :class:`Problem` with a line number; nothing in here
raises on bad content.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

Key = Any
"""One step of a data path: a mapping key (usually a string) or a list index."""

DataPath = tuple[Key, ...]
LineMap = Mapping[DataPath, int]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64
"""Deepest nesting accepted; real bank files need fewer than ten levels."""

MAX_ALIAS_EXPANSION = 10_000
"""Most values that aliases may add, which stops "billion laughs" documents."""

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL = _TAG + "str", _TAG + "int", _TAG + "float", _TAG + "bool"
_NULL, _TIMESTAMP, _VALUE = _TAG + "null", _TAG + "timestamp", _TAG + "value"
_MAP, _SEQ, _MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"

# YAML forbids most control characters; finding them here gives a line number,
# which libyaml's reader error (a character offset) does not.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


@dataclass(frozen=True)
class Problem:
    """A problem found in a question-bank file, at a line and a field."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        place = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{place}: {self.field}: {self.message}" if self.field else f"{place}: {self.message}"
        )


@dataclass(frozen=True)
class Place:
    """Where an entity sits: its file, its data path in the file, and the file's lines."""

    path: str
    prefix: DataPath = ()
    lines: LineMap = field(default_factory=dict, repr=False, compare=False)

    @property
    def line(self) -> int:
        """Return the line the entity starts on."""
        return self.line_of()

    def line_of(self, *sub: Key) -> int:
        """Return the line of a value under the entity, or of its nearest ancestor."""
        return nearest_line(self.lines, self.prefix + sub)

    def field_of(self, *sub: Key) -> str:
        """Return the dotted field name of a value under the entity."""
        return render_field(self.prefix + sub)

    def problem(self, message: str, *sub: Key) -> Problem:
        """Make a problem located at a value under the entity."""
        return Problem(self.path, self.line_of(*sub), self.field_of(*sub), message)


@dataclass
class YamlDocument:
    """The outcome of reading one file: plain data, its lines and any errors.

    ``data`` is None when the file could not be parsed at all. After a local
    problem (a forbidden tag, a duplicate key) the rest of the file is still
    usable: the offending value is replaced by None and its path is listed in
    ``bad``, so that later checks do not report it a second time.
    """

    data: object
    lines: dict[DataPath, int]
    errors: list[Problem]
    bad: frozenset[DataPath] = frozenset()

    @property
    def ok(self) -> bool:
        """Say whether the file was read without errors."""
        return not self.errors


def nearest_line(lines: LineMap, path: DataPath) -> int:
    """Return the line of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return 1


def render_field(path: DataPath) -> str:
    """Render a data path as ``items[3].options[1].id``."""
    out: list[str] = []
    for key in path:
        if isinstance(key, int) and not isinstance(key, bool):
            out.append(f"[{key}]")
        else:
            out.append(("." if out else "") + str(key))
    return "".join(out)


def read_yaml(raw: bytes, path: str) -> YamlDocument:
    """Decode and parse one YAML file; report every problem instead of raising."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start : exc.start + 1].hex()
        message = f"is not valid UTF-8 (byte 0x{byte}); save the file as UTF-8"
        return _failed(Problem(path, line, "", message))
    return parse_yaml(text, path)


def parse_yaml(text: str, path: str) -> YamlDocument:
    """Parse YAML text into plain data and a line map; report every problem."""
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        message = f"contains the character U+{ord(bad.group()):04X}, which YAML does not allow"
        return _failed(Problem(path, line, "", message))
    reader = _EventReader(path, yaml.parse(text, Loader=_Loader))
    try:
        return reader.document()
    except yaml.MarkedYAMLError as exc:
        return _failed(_syntax_problem(exc, path))
    except yaml.YAMLError as exc:
        return _failed(Problem(path, 1, "", f"invalid YAML: {exc}"))
    except _Fatal as exc:
        return _failed(exc.problem)


def _failed(problem: Problem) -> YamlDocument:
    return YamlDocument(None, {(): problem.line}, [problem])


def _syntax_problem(exc: yaml.MarkedYAMLError, path: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else 1
    what = exc.problem or exc.context or "cannot be read"
    if exc.context and exc.problem and exc.context_mark is not None:
        what = f"{what} ({exc.context} at line {exc.context_mark.line + 1})"
    return Problem(path, line, "", f"invalid YAML: {what}")


class _Fatal(Exception):
    """Stop reading a file that cannot be used at all."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


_safe = SafeConstructor()
_SCALARS: dict[str, Callable[[yaml.ScalarNode], object]] = {
    _STR: lambda node: node.value,
    # "=" and "<<" resolve to the YAML "value" and "merge" tags; as a value (not a
    # key) they are just text.
    _VALUE: lambda node: node.value,
    _MERGE: lambda node: node.value,
    _NULL: lambda node: None,
    _INT: _safe.construct_yaml_int,
    _FLOAT: _safe.construct_yaml_float,
    _BOOL: _safe.construct_yaml_bool,
    _TIMESTAMP: _safe.construct_yaml_timestamp,
}
_SCALAR_NAMES = {
    _INT: "a whole number",
    _FLOAT: "a number",
    _BOOL: "true or false",
    _TIMESTAMP: "a date or a date and time",
    _NULL: "null",
}
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers


def _resolve_plain(value: str) -> str:
    """Return the YAML 1.1 tag of an untagged plain scalar, as PyYAML's resolver would."""
    for tag, pattern in _IMPLICIT.get(value[:1], ()):
        if pattern.match(value):
            return str(tag)
    return _STR


_NO_VALUE = object()


class _EventReader:
    """Build plain data from parser events, recording lines and problems.

    Working from events rather than a composed node tree keeps the reader
    fast on large banks and leaves no node objects behind.
    """

    def __init__(self, path: str, events: Iterator[yaml.Event]) -> None:
        self.path = path
        self.events = events
        self.lines: dict[DataPath, int] = {}
        self.errors: list[Problem] = []
        self.bad: set[DataPath] = set()
        self.anchors: dict[str, tuple[object, int]] = {}
        self.built = 0
        self.expanded = 0

    def document(self) -> YamlDocument:
        next(self.events)  # StreamStartEvent
        first = next(self.events)
        if isinstance(first, yaml.StreamEndEvent):
            return _failed(Problem(self.path, 1, "", "is empty"))
        data = self.value(next(self.events), (), 0)
        next(self.events)  # DocumentEndEvent
        extra = next(self.events)
        if not isinstance(extra, yaml.StreamEndEvent):
            line = _line(extra)
            raise _Fatal(Problem(self.path, line, "", "holds more than one YAML document"))
        if data is None and not self.errors:
            return _failed(Problem(self.path, 1, "", "is empty"))
        return YamlDocument(data, self.lines, self.errors, frozenset(self.bad))

    def error(self, event: yaml.Event, path: DataPath, message: str, *, bad: bool = True) -> None:
        """Record a problem; a bad value is replaced by None in the data."""
        line = _line(event)
        self.errors.append(Problem(self.path, line, render_field(path), message))
        if bad:
            self.bad.add(path)

    def value(self, event: yaml.Event, path: DataPath, depth: int) -> object:
        self.lines.setdefault(path, _line(event))
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, path)
        before = self.built
        self.built += 1
        if isinstance(event, yaml.ScalarEvent):
            value = self.scalar(event, path)
        else:
            value = self.collection(event, path, depth)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.anchors[anchor] = (value, self.built - before)
        return value

    def alias(self, event: yaml.AliasEvent, path: DataPath) -> object:
        found = self.anchors.get(str(event.anchor))
        if found is None:
            self.error(event, path, f"alias *{event.anchor} has no complete anchor before it")
            return None
        value, size = found
        # An alias shares its anchor's value, but validation walks every copy,
        # so expansions are counted to stop "billion laughs" documents.
        self.expanded += size
        self.built += size
        if self.expanded > MAX_ALIAS_EXPANSION:
            message = f"aliases expand to more than {MAX_ALIAS_EXPANSION} values"
            raise _Fatal(Problem(self.path, _line(event), "", message))
        return value

    def scalar(self, event: yaml.ScalarEvent, path: DataPath) -> object:
        unstorable = _unstorable(event.value)
        if unstorable:
            self.error(event, path, unstorable)
            return None
        tag = event.tag
        if tag is None or tag == "!":
            tag = _resolve_plain(event.value) if event.implicit[0] else _STR
            if tag == _STR:
                return event.value
        construct = _SCALARS.get(tag)
        if construct is None:
            self.error(event, path, _tag_message(tag))
            return None
        try:
            return construct(yaml.ScalarNode(tag, event.value))
        except Exception:  # any failure to read a scalar is the author's to fix, not a crash
            name = _SCALAR_NAMES.get(tag, "text")
            self.error(event, path, f"cannot read {_shorten(event.value)!r} as {name}")
            return None

    def collection(self, event: yaml.Event, path: DataPath, depth: int) -> object:
        is_mapping = isinstance(event, yaml.MappingStartEvent)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!", _MAP if is_mapping else _SEQ):
            self.error(event, path, _tag_message(str(tag)))
            self.skip_rest(event)
            return None
        if depth >= MAX_DEPTH:
            self.error(event, path, f"is nested more than {MAX_DEPTH} levels deep")
            self.skip_rest(event)
            return None
        if is_mapping:
            return self.mapping(path, depth)
        return self.sequence(path, depth)

    def sequence(self, path: DataPath, depth: int) -> list[object]:
        out: list[object] = []
        for event in self.events:
            if isinstance(event, yaml.SequenceEndEvent):
                break
            out.append(self.value(event, (*path, len(out)), depth + 1))
        return out

    def mapping(self, path: DataPath, depth: int) -> dict[Key, object]:
        out: dict[Key, object] = {}
        first_line: dict[Key, int] = {}
        for key_event in self.events:
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            key = self.key(key_event, path)
            value_event = next(self.events)
            line = _line(key_event)
            if key is not _NO_VALUE and key in first_line:
                message = f"duplicate key {key!r} (first at line {first_line[key]})"
                self.error(key_event, (*path, key), message, bad=False)
            elif key is not _NO_VALUE:
                first_line[key] = line
                self.lines[(*path, key)] = line
                out[key] = self.value(value_event, (*path, key), depth + 1)
                continue
            self.skip(value_event)
        return out

    def key(self, event: yaml.Event, path: DataPath) -> object:
        """Return a mapping key, or _NO_VALUE after reporting why it cannot be one.

        The entry of a rejected key is dropped; the rest of the mapping is still checked.
        """
        if not isinstance(event, yaml.ScalarEvent):
            self.skip(event)
            self.error(
                event, path, "a key must be plain text, not a list, mapping or alias", bad=False
            )
            return _NO_VALUE
        unstorable = _unstorable(event.value)
        if unstorable:
            self.error(event, path, f"a key {unstorable}", bad=False)
            return _NO_VALUE
        if event.tag is None and event.implicit[0] and _resolve_plain(event.value) == _MERGE:
            self.error(
                event, path, "merge keys (<<) are not supported; write the keys out", bad=False
            )
            return _NO_VALUE
        key = self.scalar(event, path)
        try:
            hash(key)
        except TypeError:  # a timestamp or number always hashes; this is a safety net
            self.error(event, path, "a key must be plain text", bad=False)
            return _NO_VALUE
        return key

    def skip(self, event: yaml.Event) -> None:
        """Consume a value's events without building it."""
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self.skip_rest(event)

    def skip_rest(self, start: yaml.Event) -> None:
        """Consume the events of a collection whose start has been read."""
        depth = 1
        for event in self.events:
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
                if depth == 0:
                    return


def _unstorable(text: str) -> str | None:
    """Say why a scalar cannot be kept, if an escape (``"\\0"``) put a control character in it.

    The raw text is checked before parsing, but escapes in double-quoted
    scalars can still produce any character. A NUL cannot be stored in
    PostgreSQL at all, and the other control characters are never wanted.
    """
    bad = _NOT_PRINTABLE.search(text)
    if bad is None:
        return None
    code = ord(bad.group())
    name = " (NUL)" if code == 0 else ""
    return f"contains the character U+{code:04X}{name}, which a question bank may not hold"


def _line(event: yaml.Event) -> int:
    """Return the 1-based line an event starts on."""
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _tag_message(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return (
        f"the tag {shown} is not allowed; use plain mappings, lists, text, numbers, "
        "booleans, null and dates"
    )


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
