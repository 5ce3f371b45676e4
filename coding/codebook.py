"""The versioned codebook of loss reasons: load, validate, hash, and hand to a labeler."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arenalens.datafiles import read_yaml
from arenalens.labeler.base import LabelDefinition
from coding.errors import CodebookError

DEFAULT_CODEBOOK_PATH = Path(__file__).resolve().parents[1] / "data" / "codebook.yaml"
WORKSPACE_CODEBOOK_NAME = "codebook.yaml"
SIDES = ("preferred", "rejected", "both", "unclear")
POLARITIES = ("negative", "positive")


@dataclass(frozen=True)
class Code:
    """One code: name, definition, include/exclude rules, positive and negative examples."""

    name: str
    definition: str
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    positive_examples: tuple[str, ...] = ()
    negative_examples: tuple[str, ...] = ()
    # words and phrases that signal the code in real feedback (the offline coder's lexical
    # feature; matched case-insensitively at word boundaries, apostrophes optional)
    cues: tuple[str, ...] = ()

    def to_label(self) -> LabelDefinition:
        """The code as a labeler's label definition."""
        return LabelDefinition(
            name=self.name,
            definition=self.definition,
            include=self.include,
            exclude=self.exclude,
            positive_examples=self.positive_examples,
            negative_examples=self.negative_examples,
        )


@dataclass(frozen=True)
class Codebook:
    """A named, versioned set of codes; `version_key` (declared version + content hash) tags every row."""

    name: str
    version: str
    codes: tuple[Code, ...]
    description: str = ""
    source: str = field(default="", compare=False)

    @property
    def content_hash(self) -> str:
        """sha256 of the codebook's content (not of its file's formatting)."""
        payload = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def version_key(self) -> str:
        """What every code and annotation row stores: `<name>@<version>#<hash12>`."""
        return f"{self.name}@{self.version}#{self.content_hash[:12]}"

    @property
    def code_names(self) -> list[str]:
        return [code.name for code in self.codes]

    def code(self, name: str) -> Code:
        for code in self.codes:
            if code.name == name:
                return code
        raise CodebookError(
            f"codebook {self.version_key}: no code named {name!r}; codes are {self.code_names}"
        )

    def label_definitions(self) -> list[LabelDefinition]:
        return [code.to_label() for code in self.codes]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "codes": [
                {
                    k: list(v) if isinstance(v, tuple) else v
                    for k, v in asdict(c).items()
                    if not (k == "cues" and not v)  # no cues: same hash as before cues existed
                }
                for c in self.codes
            ],
        }

    def frame(self):  # -> pd.DataFrame (imported lazily: the dashboard shows this)
        """One row per code with its definition and rules, for display."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "code": c.name,
                    "definition": c.definition,
                    "include": "; ".join(c.include),
                    "exclude": "; ".join(c.exclude),
                    "positive_examples": " | ".join(c.positive_examples),
                    "negative_examples": " | ".join(c.negative_examples),
                }
                for c in self.codes
            ]
        )


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CodebookError(f"{where}: expected a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def codebook_from_dict(data: Any, source: str = "<dict>") -> Codebook:
    """Validate a parsed codebook mapping; errors name the source, the code and the field."""
    if not isinstance(data, dict):
        raise CodebookError(f"{source}: expected a mapping with name, version and codes")
    for key in ("name", "version", "codes"):
        if key not in data or data[key] in (None, ""):
            raise CodebookError(f"{source}: missing required field {key!r}")
    if not isinstance(data["codes"], list) or not data["codes"]:
        raise CodebookError(f"{source}: 'codes' must be a non-empty list")
    codes: list[Code] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["codes"]):
        where = f"{source}: codes[{i}]"
        if not isinstance(raw, dict):
            raise CodebookError(f"{where}: expected a mapping with name and definition")
        name = str(raw.get("name") or "").strip()
        if not name or not name.replace("_", "").isalnum():
            raise CodebookError(
                f"{where}: 'name' must be a non-empty identifier (letters, digits, _), got {name!r}"
            )
        where = f"{source}: code {name!r}"
        if name in seen:
            raise CodebookError(f"{where}: duplicate code name")
        seen.add(name)
        definition = str(raw.get("definition") or "").strip()
        if not definition:
            raise CodebookError(f"{where}: missing 'definition'")
        unknown = set(raw) - {
            "name",
            "definition",
            "include",
            "exclude",
            "positive_examples",
            "negative_examples",
            "cues",
        }
        if unknown:
            raise CodebookError(f"{where}: unknown fields {sorted(unknown)}")
        codes.append(
            Code(
                name=name,
                definition=" ".join(definition.split()),
                include=_string_list(raw.get("include"), f"{where}.include"),
                exclude=_string_list(raw.get("exclude"), f"{where}.exclude"),
                positive_examples=_string_list(
                    raw.get("positive_examples"), f"{where}.positive_examples"
                ),
                negative_examples=_string_list(
                    raw.get("negative_examples"), f"{where}.negative_examples"
                ),
                cues=_string_list(raw.get("cues"), f"{where}.cues"),
            )
        )
    return Codebook(
        name=str(data["name"]).strip(),
        version=str(data["version"]).strip(),
        codes=tuple(codes),
        description=" ".join(str(data.get("description") or "").split()),
        source=source,
    )


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Read a codebook YAML file (default: the shipped data/codebook.yaml)."""
    path = Path(path) if path else DEFAULT_CODEBOOK_PATH
    data = read_yaml(path, CodebookError, "codebook file")
    return codebook_from_dict(data, source=str(path))


def resolve_codebook(workspace: Path | None, path: str | Path | None = None) -> Codebook:
    """The codebook a command uses: an explicit file, else `<workspace>/codebook.yaml`, else the default."""
    if path:
        return load_codebook(path)
    if workspace is not None and (Path(workspace) / WORKSPACE_CODEBOOK_NAME).exists():
        return load_codebook(Path(workspace) / WORKSPACE_CODEBOOK_NAME)
    return load_codebook(DEFAULT_CODEBOOK_PATH)
