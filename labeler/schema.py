"""What annotators label: a schema of attributes, each with ordered options and keyboard keys.

A schema is a YAML or JSON file (the shipped one is `data/schema_anime.yaml`):

    name: anime
    attributes:
      - name: hair_length
        kind: binary            # binary | ordinal | categorical
        options: [short, long]  # ordered; for binary, options[0] is the negative class
        keys: ["1", "2"]        # optional: one key per option (default 1, 2, 3, ...)
        help: Long if the hair reaches below the chin.

Every attribute also accepts "not sure / can't tell" (stored as `UNSURE`), so option names may
not use that word, and the keys of the labeling app's global actions are reserved. A schema
that breaks a rule is refused with one sentence naming the file, the attribute and the problem.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from latentlab.core.errors import UserError
from latentlab.core.paths import data_path

from labeler.text import quoted

KINDS = ("binary", "ordinal", "categorical")
UNSURE = "not_sure"  # the stored value of "not sure / can't tell"
UNSURE_KEY = "0"
RESERVED_KEYS = frozenset({UNSURE_KEY, " "})  # the app also uses Enter, Escape, Backspace and arrows
DEFAULT_KEYS = tuple("123456789abcdefghijklmnopqrstuvwxyz")
DEFAULT_SCHEMA = "schema_anime.yaml"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
OPTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+'-]{0,63}$")
SCHEMA_FIELDS = {"name", "version", "description", "attributes"}
ATTRIBUTE_FIELDS = {"name", "kind", "options", "keys", "help"}


class SchemaError(UserError, ValueError):
    """A schema file breaks a rule; the message names the file, the attribute and the rule."""


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: str
    options: list[str]
    keys: list[str]
    help: str = ""

    @property
    def choices(self) -> list[str]:
        """Every value a label may take: the options, then UNSURE."""
        return [*self.options, UNSURE]

    def key_of(self, option: str) -> str:
        return UNSURE_KEY if option == UNSURE else self.keys[self.options.index(option)]

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Schema:
    name: str
    attributes: list[Attribute]
    version: int = 1
    description: str = ""
    _by_name: dict[str, Attribute] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_name.update({a.name: a for a in self.attributes})

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes]

    def attribute(self, name: str) -> Attribute:
        try:
            return self._by_name[name]
        except KeyError:
            raise UserError(f"schema {self.name!r} has no attribute {quoted(name)}; "
                            f"its attributes are {', '.join(self.names)}") from None

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "description": self.description,
                "attributes": [asdict(a) for a in self.attributes]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def check_values(self, values: dict) -> dict[str, str]:
        """A complete, valid answer {attribute: option or UNSURE}, or a UserError naming the first problem."""
        if not isinstance(values, dict):
            raise UserError("a label must be an object mapping each attribute to one of its options")
        unknown = [k for k in values if k not in self._by_name]
        if unknown:
            raise UserError(f"unknown attribute {quoted(unknown[0])}; this run labels {', '.join(self.names)}")
        missing = [a.name for a in self.attributes if values.get(a.name) in (None, "")]
        if missing:
            raise UserError(f"answer every attribute before submitting (choose \"not sure\" if you "
                            f"cannot tell): missing {', '.join(missing)}")
        out = {}
        for a in self.attributes:
            v = values[a.name]
            if not isinstance(v, str) or v not in a.choices:
                raise UserError(f"{quoted(v)} is not an option of {a.name}; choose one of {', '.join(a.choices)}")
            out[a.name] = v
        return out


def parse_schema(data: object, source: str = "schema") -> Schema:
    """Validate a schema given as plain data (from YAML or JSON); `source` names it in errors."""

    def fail(msg: str) -> None:
        raise SchemaError(f"{source}: {msg}")

    if not isinstance(data, dict):
        fail("the file must be a mapping with `name` and `attributes`")
    extra = sorted(set(data) - SCHEMA_FIELDS)
    if extra:
        fail(f"unknown top-level field {quoted(extra[0])}; allowed fields are {', '.join(sorted(SCHEMA_FIELDS))}")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        fail(f"`name` must be a lower-case identifier such as anime, got {quoted(name)}")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        fail(f"`version` must be a positive integer, got {quoted(version)}")
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        fail("`description` must be text")
    raw_attrs = data.get("attributes")
    if not isinstance(raw_attrs, list) or not raw_attrs:
        fail("`attributes` must be a non-empty list")

    attributes: list[Attribute] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_attrs, start=1):
        where = f"attribute {i}"
        if not isinstance(raw, dict):
            fail(f"{where} must be a mapping with name, kind and options")
        if isinstance(raw.get("name"), str):
            where = f"attribute {quoted(raw['name'])}"
        extra = sorted(set(raw) - ATTRIBUTE_FIELDS)
        if extra:
            fail(f"{where} has an unknown field {quoted(extra[0])}; allowed fields are "
                 f"{', '.join(sorted(ATTRIBUTE_FIELDS))}")
        aname = raw.get("name")
        if not isinstance(aname, str) or not NAME_RE.fullmatch(aname):
            fail(f"{where} needs a `name` in lower case letters, digits and _ (such as hair_color), got {quoted(aname)}")
        if aname in seen:
            fail(f"attribute {quoted(aname)} is defined twice")
        seen.add(aname)
        kind = raw.get("kind")
        if kind not in KINDS:
            fail(f"{where} has kind {quoted(kind)}; use one of {', '.join(KINDS)}")
        options = raw.get("options")
        if not isinstance(options, list) or len(options) < 2:
            fail(f"{where} needs a list of at least two `options`")
        for o in options:
            if not isinstance(o, str):
                fail(f"{where} has option {quoted(o)} which is not text; quote it in the file (YAML reads "
                     f"no/yes/on/off as booleans)")
            if o == UNSURE:
                fail(f"{where} uses the reserved option {UNSURE!r}; every attribute gets \"not sure\" automatically")
            if not OPTION_RE.fullmatch(o):
                fail(f"{where} has option {quoted(o)}; options are 1-64 letters, digits, spaces or _ . + ' -, "
                     f"starting with a letter or digit")
        dup = [o for o in options if options.count(o) > 1]
        if dup:
            fail(f"{where} lists option {quoted(dup[0])} twice")
        if kind == "binary" and len(options) != 2:
            fail(f"{where} is binary so it needs exactly two options (negative first), got {len(options)}")
        keys = raw.get("keys")
        if keys is None:
            if len(options) > len(DEFAULT_KEYS):
                fail(f"{where} has more options than default keys; give `keys` explicitly")
            keys = list(DEFAULT_KEYS[: len(options)])
        if not isinstance(keys, list) or len(keys) != len(options):
            fail(f"{where} needs exactly one key per option ({len(options)} keys), got {quoted(keys)}")
        keys = [str(k).lower() if isinstance(k, (str, int)) and not isinstance(k, bool) else k for k in keys]
        for k in keys:
            if not isinstance(k, str) or len(k) != 1 or not k.isprintable():
                fail(f"{where} has key {quoted(k)}; each key must be one printable character such as 1 or b")
            if k in RESERVED_KEYS:
                fail(f"{where} uses the reserved key {quoted(k)} (0 is \"not sure\", space is kept free)")
        dup = [k for k in keys if keys.count(k) > 1]
        if dup:
            fail(f"{where} uses key {quoted(dup[0])} for two options")
        help_text = raw.get("help", "") or ""
        if not isinstance(help_text, str):
            fail(f"{where} has a `help` that is not text")
        attributes.append(Attribute(name=aname, kind=kind, options=list(options), keys=keys, help=help_text.strip()))
    return Schema(name=name, attributes=attributes, version=version, description=description.strip())


def load_schema(path: str | Path) -> Schema:
    """Read and validate a schema file (.yaml, .yml or .json)."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"schema file {path} does not exist; pass a .yaml or .json schema "
                          f"(see data/{DEFAULT_SCHEMA} for an example)")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        mark = getattr(e, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else f"line {getattr(e, 'lineno', '?')}"
        raise SchemaError(f"{path}: the file is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'} "
                          f"({line}: {getattr(e, 'problem', None) or getattr(e, 'msg', e)})") from None
    return parse_schema(data, source=str(path))


def schema_from_json(text: str) -> Schema:
    """The schema stored with a run."""
    return parse_schema(json.loads(text), source="stored schema")


def default_schema() -> Schema:
    """The shipped anime schema, whose names equal generator.synthetic.attributes.ATTRIBUTES."""
    return load_schema(data_path(DEFAULT_SCHEMA))
