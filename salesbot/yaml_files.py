"""Every YAML file the product reads goes through here: safe loading, then a pydantic model, with errors that
name the file, the key and the problem (never a raw pydantic or PyYAML message shown to a person)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from salesbot.errors import UserFacingError

ModelT = TypeVar("ModelT", bound=BaseModel)

# Configuration and registry files are small; a bigger one is a mistake (or an attack), not data.
MAX_YAML_BYTES = 2_000_000


class ConfigFileError(UserFacingError, ValueError):
    """A YAML file the product needs is missing or wrong; str() says which file, which key and what to fix."""


class _NoAliasSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: they are never needed in our files, and alias expansion is
    how a few hundred bytes of YAML become gigabytes in memory."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases (*name) are not allowed in salesbot files", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.constructor.ConstructorError(
                None, None, "YAML anchors (&name) are not allowed in salesbot files", event.start_mark)
        return super().compose_node(parent, index)


def parse_yaml_text(text: str, source: str = "<text>") -> Any:
    """Parse YAML text with the no-alias safe loader; ConfigFileError names `source` and the line."""
    if len(text.encode("utf-8", errors="ignore")) > MAX_YAML_BYTES:
        raise ConfigFileError(f"{source}: YAML larger than {MAX_YAML_BYTES // 1000} kB")
    try:
        return yaml.load(text, Loader=_NoAliasSafeLoader)  # noqa: S506 - the loader is a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigFileError(f"{source}{where}: not valid YAML: {problem}") from error


def read_yaml(path: Path) -> Any:
    """The parsed content of a YAML file (None for an empty file); ConfigFileError when missing or invalid."""
    if not path.is_file():
        raise ConfigFileError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"{path}: cannot be read as UTF-8 text ({type(error).__name__})") from error
    return parse_yaml_text(text, str(path))


def validation_message(source: str, error: ValidationError) -> str:
    """'FILE: key.sub: problem; other.key: problem' from a pydantic error (at most five problems)."""
    problems = []
    for problem in error.errors()[:5]:
        location = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        problems.append(f"{location}: {problem['msg']}")
    more = f" (and {error.error_count() - 5} more)" if error.error_count() > 5 else ""
    return f"{source}: " + "; ".join(problems) + more


def validate_data(data: Any, model: type[ModelT], source: str) -> ModelT:
    """Validate already-parsed data against `model`; ConfigFileError with file, key and problem."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise ConfigFileError(validation_message(source, error)) from error


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Read and validate a YAML file, cached until the file changes (edits take effect without a restart)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"{path}: file not found")
    stat = path.stat()
    return _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size, model)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _load_cached(path: str, _mtime_ns: int, _size: int, model: type[BaseModel]) -> BaseModel:
    return validate_data(read_yaml(Path(path)), model, path)
