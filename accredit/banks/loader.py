"""Load a question-bank tree: read every file, validate it, then check across files.

:func:`load_tree` never raises on bad content. Each file is read and validated
on its own, giving errors, warnings and (when valid) data; the cross-file
checks then run on whatever validated. Every problem found on the way comes
back in one :class:`LoadResult`, each as ``path:line: field: message``.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Tag, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from accredit.banks.checks import (
    BankFolder,
    Broken,
    LoadedBank,
    Sourced,
    Tree,
    check_tree,
    did_you_mean,
)
from accredit.banks.schema import (
    ITEM_TYPES,
    PATTERN_MESSAGES,
    Assessment,
    Bank,
    BankFile,
    FieldProblem,
    Framework,
    Item,
    Scenario,
)
from accredit.banks.yamlsource import (
    DataPath,
    Place,
    Problem,
    YamlDocument,
    nearest_line,
    read_yaml,
    render_field,
)

M = TypeVar("M", bound=BaseModel)

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Largest file read; ten thousand items fit in a few megabytes."""

BANK_FILE = "bank.yaml"


@dataclass(frozen=True)
class LoadResult:
    """Everything read from a question-bank tree, and every problem found in it."""

    root: Path
    frameworks: Mapping[str, Sourced[Framework]]
    banks: Mapping[str, LoadedBank]
    assessments: Mapping[str, Sourced[Assessment]]
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Say whether the tree has no errors (warnings are allowed)."""
        return not self.errors


@dataclass
class FileResult(Generic[M]):
    """One file's outcome: its model (when valid), its problems and its lines."""

    path: str
    data: M | None
    raw: object
    lines: Mapping[DataPath, int]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def place(self, *prefix: str | int) -> Place:
        """Return the place of a value in this file."""
        return Place(self.path, prefix, self.lines)


def load_tree(root: Path) -> LoadResult:
    """Read, validate and cross-check the question-bank tree under ``root``."""
    return _TreeLoader(Path(root)).load()


def load_file(path: Path, shown: str, model: type[M]) -> FileResult[M]:
    """Read one YAML file and validate it against ``model``."""
    document = _read(path, shown)
    result: FileResult[M] = FileResult(shown, None, document.data, document.lines)
    result.errors += document.errors
    if document.data is not None:
        result.data, problems = validate(model, document, shown)
        result.errors += problems
    return result


def validate(model: type[M], document: YamlDocument, shown: str) -> tuple[M | None, list[Problem]]:
    """Validate a document's data against a model; turn any failure into located problems."""
    try:
        return model.model_validate(document.data), []
    except ValidationError as exc:
        return None, problems_from(exc.errors(), model, document, shown)


def _read(path: Path, shown: str) -> YamlDocument:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            message = f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"
            return YamlDocument(None, {}, [Problem(shown, 0, "", message)])
        raw = path.read_bytes()
    except OSError as exc:
        return YamlDocument(None, {}, [Problem(shown, 0, "", f"cannot be read: {exc.strerror}")])
    return read_yaml(raw, shown)


class _TreeLoader:
    """Read the files of one tree in a stable order and hand them to the checks."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.base = self.root.parent
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.broken = Broken()

    def load(self) -> LoadResult:
        if not self.root.is_dir():
            self.errors.append(Problem(self.shown(self.root), 0, "", "folder not found"))
            return self.result({}, {}, {})
        tree = Tree(
            frameworks=self.load_all(self.yaml_files(self.root / "frameworks"), Framework),
            folders=self.load_folders(),
            assessments=self.load_all(self.yaml_files(self.root / "assessments"), Assessment),
            broken=self.broken,
        )
        checked = check_tree(tree)
        self.errors += checked.errors
        self.warnings += checked.warnings
        return self.result(checked.frameworks, checked.banks, checked.assessments)

    def result(
        self,
        frameworks: Mapping[str, Sourced[Framework]],
        banks: Mapping[str, LoadedBank],
        assessments: Mapping[str, Sourced[Assessment]],
    ) -> LoadResult:
        def order(problem: Problem) -> tuple[str, int]:
            return (problem.path, problem.line)

        return LoadResult(
            self.root,
            frameworks,
            banks,
            assessments,
            tuple(sorted(self.errors, key=order)),
            tuple(sorted(self.warnings, key=order)),
        )

    def shown(self, path: Path) -> str:
        return path.relative_to(self.base).as_posix()

    def inside(self, path: Path) -> bool:
        """Say whether a path stays in the tree; report a symbolic link that leads out of it.

        A link is followed only when it resolves inside the tree, so a bank can
        never read a file from elsewhere on the machine.
        """
        try:
            resolved = path.resolve(strict=False)
        except (OSError, RuntimeError):  # a loop of links
            resolved = None
        if resolved is not None and resolved.is_relative_to(self.root):
            return True
        message = (
            "is a symbolic link that leads outside the question-bank folder, "
            "so it is not read; copy the file into the folder instead"
        )
        self.errors.append(Problem(self.shown(path), 0, "", message))
        return False

    def folder(self, path: Path) -> bool:
        """Say whether a path is a folder in the tree (reporting links that leave it)."""
        return path.is_dir() and self.inside(path)

    def yaml_files(self, folder: Path, skip: str = "") -> list[Path]:
        """List a folder's ``.yaml`` files in name order, warning about ``.yml`` ones."""
        if not self.folder(folder):
            return []
        found: list[Path] = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name == skip:
                continue
            if path.is_symlink() and not self.inside(path):
                continue
            if not path.is_file():
                continue
            if path.suffix == ".yaml":
                found.append(path)
            elif path.suffix == ".yml":
                message = "is ignored: question-bank files must end in .yaml"
                self.warnings.append(Problem(self.shown(path), 0, "", message))
        return found

    def load_all(self, paths: Sequence[Path], model: type[M]) -> list[Sourced[M]]:
        loaded: list[Sourced[M]] = []
        for path in paths:
            result = self.load_one(path, model)
            if result.data is not None:
                loaded.append(Sourced(result.data, result.place()))
        return loaded

    def load_one(self, path: Path, model: type[M]) -> FileResult[M]:
        result = load_file(path, self.shown(path), model)
        self.errors += result.errors
        self.warnings += result.warnings
        if result.data is None:
            self.note_broken(model, result.raw)
        return result

    def note_broken(self, model: type[BaseModel], raw: object) -> None:
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(raw_id, str):
            return
        if model is Framework:
            self.broken.frameworks.add(raw_id)
        elif model is Bank:
            self.broken.banks.add(raw_id)

    # Banks -------------------------------------------------------------------

    def load_folders(self) -> list[BankFolder]:
        banks = self.root / "banks"
        if not self.folder(banks):
            return []
        folders: list[BankFolder] = []
        for path in sorted(banks.iterdir()):
            if path.name.startswith("."):
                continue
            if path.is_symlink() and not self.inside(path):
                continue
            if path.is_dir():
                folders.append(self.load_folder(path))
            elif path.suffix in (".yaml", ".yml"):
                message = "is ignored: bank files belong in a folder under banks/"
                self.warnings.append(Problem(self.shown(path), 0, "", message))
        return folders

    def load_folder(self, folder: Path) -> BankFolder:
        bank = self.load_bank_definition(folder)
        loaded = BankFolder(folder.name, bank)
        bank_id = bank.value.id if bank else folder.name
        for path in self.yaml_files(folder, skip=BANK_FILE):
            self.load_bank_file(path, loaded, bank_id)
        return loaded

    def load_bank_definition(self, folder: Path) -> Sourced[Bank] | None:
        path = folder / BANK_FILE
        if path.is_symlink() and not self.inside(path):
            self.broken.banks.add(folder.name)
            return None
        if not path.is_file():
            message = f"bank folder has no {BANK_FILE}"
            self.errors.append(Problem(self.shown(folder), 0, "", message))
            self.broken.banks.add(folder.name)
            return None
        result = self.load_one(path, Bank)
        if result.data is None:
            self.broken.banks.add(folder.name)
            return None
        return Sourced(result.data, result.place())

    def load_bank_file(self, path: Path, folder: BankFolder, bank_id: str) -> None:
        result = self.load_one(path, BankFile)
        if result.data is not None:
            folder.scenarios += [
                Sourced(s, result.place("scenarios", i))
                for i, s in enumerate(result.data.scenarios)
            ]
            folder.items += [
                Sourced(s, result.place("items", i)) for i, s in enumerate(result.data.items)
            ]
        elif isinstance(result.raw, dict):
            self.salvage(result, folder, bank_id)
        else:
            self.broken.unreadable_banks.add(bank_id)

    def salvage(self, result: FileResult[BankFile], folder: BankFolder, bank_id: str) -> None:
        """Keep the valid scenarios and items of a file that failed as a whole."""
        assert isinstance(result.raw, dict)
        for index, raw in _entries(result.raw, "scenarios"):
            scenario = _try(Scenario.model_validate, raw)
            if scenario is not None:
                folder.scenarios.append(Sourced(scenario, result.place("scenarios", index)))
            elif isinstance(raw, dict) and isinstance(raw.get("id"), str):
                self.broken.scenarios.add(raw["id"])
        for index, raw in _entries(result.raw, "items"):
            item = _try(_item_adapter().validate_python, raw)
            if item is not None:
                folder.items.append(Sourced(item, result.place("items", index)))
                continue
            per_bank = self.broken.items_per_bank
            per_bank[bank_id] = per_bank.get(bank_id, 0) + 1
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                self.broken.items.add(raw["id"])


def _entries(raw: dict[Any, Any], key: str) -> list[tuple[int, object]]:
    value = raw.get(key)
    return list(enumerate(value)) if isinstance(value, list) else []


T = TypeVar("T")


def _try(validate: Callable[[object], T], raw: object) -> T | None:
    try:
        return validate(raw)
    except ValidationError:
        return None


@functools.cache
def _item_adapter() -> TypeAdapter[Item]:
    return TypeAdapter(Item)


# Turning pydantic errors into problems ------------------------------------------


def problems_from(
    errors: Sequence[ErrorDetails], model: type[BaseModel], document: YamlDocument, shown: str
) -> list[Problem]:
    """Turn pydantic errors into problems with a field, a line and a clear message.

    Errors about values the YAML reader already rejected are left out.
    """
    problems = []
    for error in _without_knock_on(errors):
        loc, allowed = clean_loc(model, error["loc"])
        if document.bad and any(loc[:end] in document.bad for end in range(len(loc) + 1)):
            continue
        loc, message = describe(error, loc, allowed, document)
        line = nearest_line(document.lines, loc)
        problems.append(Problem(shown, line, render_field(loc), message))
    return problems


def _without_knock_on(errors: Sequence[ErrorDetails]) -> list[ErrorDetails]:
    """Drop "too short" errors that only repeat that the list's entries were invalid."""
    above_others = {tuple(e["loc"])[:end] for e in errors for end in range(len(e["loc"]))}
    return [e for e in errors if not (e["type"] == "too_short" and tuple(e["loc"]) in above_others)]


def clean_loc(model: type[BaseModel], loc: Sequence[Any]) -> tuple[DataPath, frozenset[str]]:
    """Drop the union tags pydantic puts in a location; return the keys allowed at its end.

    The location of an error inside a discriminated union names the variant
    (``items, 3, 'single', 'key'``) but the data has no such level, so the
    model types are walked alongside the location to find and remove it.
    """
    clean: list[Any] = []
    allowed: frozenset[str] = frozenset()
    current: Any = model
    for element in loc:
        current = _strip_optional(current)
        member = _union_member(current, element)
        if member is not None:
            current = member
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            allowed = frozenset(current.model_fields)
            found = current.model_fields.get(element) if isinstance(element, str) else None
            current = found.annotation if found else None
        elif typing.get_origin(current) is tuple:
            current = typing.get_args(current)[0]
        else:
            current = None
        clean.append(element)
    return tuple(clean), allowed


def _strip_optional(annotation: Any) -> Any:
    """Remove ``Annotated`` wrappers and a ``None`` alternative."""
    annotation = _strip_annotated(annotation)
    members = _union_members(annotation)
    if members is not None:
        present = [m for m in members if m is not type(None)]
        if len(present) == 1:
            return _strip_annotated(present[0])
    return annotation


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return None


def _union_member(annotation: Any, tag: Any) -> Any:
    """Return the variant of a discriminated union that ``tag`` names, if it names one."""
    members = _union_members(annotation)
    if members is None or not isinstance(tag, str):
        return None
    for member in members:
        base = _strip_annotated(member)
        tags = [m.tag for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
        if tag in tags or tag in _literal_type(base):
            return base
    return None


def _literal_type(model: Any) -> tuple[Any, ...]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ()
    found = model.model_fields.get("type")
    return typing.get_args(found.annotation) if found else ()


def describe(
    error: ErrorDetails, loc: DataPath, allowed: frozenset[str], document: YamlDocument
) -> tuple[DataPath, str]:
    """Return the location and the author-facing message for one pydantic error."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), FieldProblem):
        problem: FieldProblem = ctx["error"]
        message = str(problem)
        if problem.first is not None:
            message += f" (first at line {nearest_line(document.lines, (*loc, *problem.first))})"
        return (*loc, *problem.loc), message
    if kind == "extra_forbidden":
        key = loc[-1] if loc else None
        hint = did_you_mean(key, allowed) if isinstance(key, str) else ""
        return loc, f"unknown key {key!r}{hint}"
    if kind in ("union_tag_not_found", "union_tag_invalid") and "discriminator" in ctx:
        name = str(ctx["discriminator"]).strip("'")
        return (*loc, name), _tag_message(kind, ctx, _at(document.data, loc), name)
    return loc, _MESSAGES.get(kind, _default_message)(error, value, ctx)


def _at(data: object, loc: DataPath) -> object:
    for key in loc:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def _tag_message(kind: str, ctx: Mapping[str, Any], entry: object, name: str) -> str:
    # Only items are told apart by a key (type); pydantic names no tags when it is missing.
    expected = str(ctx.get("expected_tags", ", ".join(ITEM_TYPES))).replace("'", "")
    if kind == "union_tag_not_found":
        if not isinstance(entry, dict):
            return f"cannot be read: the entry must be a mapping with a {name}"
        return f"is required; use one of {expected}"
    return f"{ctx.get('tag')!r} is not one of {expected}"


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _yaml_kind(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _wrong_type(wanted: str) -> Any:
    def message(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
        text = f"must be {wanted}, not {_yaml_kind(value)}"
        if wanted == "text" and isinstance(value, bool | int | float):
            text += f" ({_shown(value)}); put it in quotes"
        return text

    return message


def _pattern(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
    meaning = PATTERN_MESSAGES.get(str(ctx.get("pattern")), "has the wrong form")
    return meaning if meaning == PATTERN_MESSAGES[r"\S"] else f"{_shown(value)} {meaning}"


def _length(bound: str, word: str) -> Any:
    def message(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
        limit = ctx.get(f"{bound}_length")
        actual = ctx.get("actual_length")
        noun = "entry" if limit == 1 else "entries"
        return f"must have {word} {limit} {noun} (has {actual})"

    return message


def _limit(word: str, key: str) -> Any:
    def message(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
        return f"must be {word} {_number(ctx.get(key))} (not {_shown(value)})"

    return message


def _text_too_long(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
    actual = f" (has {len(value)})" if isinstance(value, str) else ""
    return f"must be at most {ctx.get('max_length')} characters{actual}"


def _number(value: object) -> str:
    """Show 1.0 as 1, since limits are written as whole numbers in the docs."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _literal(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
    expected = str(ctx.get("expected", "")).replace("'", "")
    return f"must be one of {expected} (not {_shown(value)})"


def _value_error(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("error", error["msg"]))


def _default_message(error: ErrorDetails, value: object, ctx: Mapping[str, Any]) -> str:
    return error["msg"]


_MESSAGES: dict[str, Any] = {
    "missing": lambda e, v, c: "is required but missing",
    "string_type": _wrong_type("text"),
    "int_type": _wrong_type("a whole number"),
    "int_from_float": _wrong_type("a whole number"),
    "float_type": _wrong_type("a number"),
    "bool_type": _wrong_type("true or false"),
    "tuple_type": _wrong_type("a list"),
    "list_type": _wrong_type("a list"),
    "model_type": _wrong_type("a mapping of keys to values"),
    "model_attributes_type": _wrong_type("a mapping of keys to values"),
    "dict_type": _wrong_type("a mapping of keys to values"),
    "datetime_type": lambda e, v, c: (
        f"must be a date and time with a time zone, such as 2027-01-04T09:00:00Z, "
        f"not {_yaml_kind(v)}"
    ),
    "timezone_aware": lambda e, v, c: "must include a time zone, such as 2027-01-04T09:00:00Z",
    "finite_number": lambda e, v, c: "must be a finite number",
    "string_pattern_mismatch": _pattern,
    "too_short": _length("min", "at least"),
    "too_long": _length("max", "at most"),
    "string_too_long": _text_too_long,
    "greater_than": _limit("more than", "gt"),
    "greater_than_equal": _limit("at least", "ge"),
    "less_than": _limit("less than", "lt"),
    "less_than_equal": _limit("at most", "le"),
    "literal_error": _literal,
    "value_error": _value_error,
}
