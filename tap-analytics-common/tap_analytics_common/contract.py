"""The schema contract: every record a tap emits is valid under its stream's SCHEMA.

APIs drift. Singer targets trust the SCHEMA (some skip validation for speed), so a
value of the wrong type, or a record without its key, must not pass silently. The
policy is modelled on dlt's schema contracts, fitted to Singer:

- `schema_contract`: `evolve` (default) moves a value that breaks its field's type
  into `extra` under the field's name and sets the field to null where the schema
  allows null (drops it where the field is optional); `freeze` fails at the first
  violation, naming the stream, the field and the record's key.
- `records_without_key`: a record without its primary key, or with a key of the wrong
  type, is never emitted: `fail` (default) ends the run naming the stream and the
  page's URL path; `skip` drops it, counted and warned about once per stream.

The check is compiled once per stream from the JSON schema into a tuple of fields
with the exact Python types msgspec decodes each JSON type to, so a record costs a
dict lookup and a set membership per declared field, not a generic validator.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import threading
import typing as t
from dataclasses import dataclass

from tap_analytics_common.errors import TapError
from tap_analytics_common.schemas import EXTRA_PROPERTY

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SchemaContract = t.Literal["evolve", "freeze"]
RecordsWithoutKey = t.Literal["fail", "skip"]
SCHEMA_CONTRACTS: tuple[SchemaContract, ...] = ("evolve", "freeze")
RECORDS_WITHOUT_KEY: tuple[RecordsWithoutKey, ...] = ("fail", "skip")

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}
_JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}
_MISSING = object()


class ContractError(TapError):
    """A record broke the schema contract and the policy says to stop."""


def _json_type(value: object) -> str:
    return "null" if value is None else _JSON_NAMES.get(type(value), type(value).__name__)


def _is_date_time(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value or " " in value


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """What one declared field accepts: exact Python types, plus nested checks where declared."""

    name: str
    types: frozenset[type]
    allowed: str
    """The schema's types in words, for messages."""
    nullable: bool
    required: bool
    date_time: bool = False
    items: FieldCheck | None = None
    properties: tuple[FieldCheck, ...] = ()

    @property
    def simple(self) -> bool:
        """The type alone decides (no format, items or nested properties to look into)."""
        return not (self.date_time or self.items or self.properties)

    def accepts(self, value: object) -> bool:
        """Whether `value` is valid for this field (None only where the schema allows null)."""
        if type(value) not in self.types:
            return False
        if value is None:
            return True
        if self.date_time and not _is_date_time(t.cast("str", value)):
            return False
        if self.items is not None:
            return all(self.items.accepts(item) for item in t.cast("list[t.Any]", value))
        if self.properties:
            record = t.cast("dict[str, t.Any]", value)
            return all(check.accepts_in(record) for check in self.properties)
        return True

    def accepts_in(self, record: Mapping[str, t.Any]) -> bool:
        """Whether this field's value (or its absence) in `record` is valid."""
        value = record.get(self.name, _MISSING)
        if value is _MISSING:
            return not self.required
        return self.accepts(value)


def compile_field(name: str, schema: Mapping[str, t.Any], *, required: bool) -> FieldCheck:
    """One field's check from its JSON schema; an untyped field accepts anything."""
    kinds = schema.get("type")
    names = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if not names or any(kind not in _PYTHON_TYPES for kind in names):
        anything: frozenset[type] = frozenset({str, int, float, bool, dict, list, type(None)})
        return FieldCheck(name, anything, "any", nullable=True, required=required)
    types: frozenset[type] = frozenset(tp for kind in names for tp in _PYTHON_TYPES[kind])
    items = schema.get("items")
    nested = schema.get("properties") or {}
    inner_required = set(schema.get("required", []))
    return FieldCheck(
        name=name,
        types=types,
        allowed=" or ".join(names),
        nullable="null" in names,
        required=required,
        date_time=schema.get("format") == "date-time" and "string" in names,
        items=compile_field("[]", items, required=True)
        if isinstance(items, dict) and items.get("type")
        else None,
        properties=tuple(
            compile_field(key, value, required=key in inner_required) for key, value in nested.items()
        ),
    )


def _all_typed(fields: tuple[tuple[str, frozenset[type]], ...]) -> t.Callable[[Mapping[str, t.Any]], bool]:
    """One compiled expression: `type(row.get(name)) in types and …` for every field.

    A loop over the fields costs an iteration and an unpacking per field and record;
    the expression short-circuits in C-level steps, several times faster.
    """
    if not fields:
        return lambda row: True
    names = {f"t{i}": types for i, (_, types) in enumerate(fields)}
    test = " and ".join(f"type(get({name!r}, m)) in t{i}" for i, (name, _) in enumerate(fields))
    source = f"def valid(row):\n    get = row.get\n    return {test}\n"
    scope: dict[str, t.Any] = {"m": _MISSING, **names}
    exec(compile(source, "<schema contract>", "exec"), scope)  # noqa: S102 - built from field names via repr
    return t.cast("t.Callable[[Mapping[str, t.Any]], bool]", scope["valid"])


class Contract:
    """One stream's compiled check, its policy, and what it saw during the run."""

    def __init__(
        self,
        stream: str,
        schema: Mapping[str, t.Any],
        *,
        key_fields: Iterable[str],
        schema_contract: SchemaContract = "evolve",
        records_without_key: RecordsWithoutKey = "fail",
    ) -> None:
        self.stream = stream
        self.schema_contract = schema_contract
        self.records_without_key = records_without_key
        required = set(schema.get("required", []))
        properties: Mapping[str, t.Any] = schema.get("properties", {})
        checks = {
            name: compile_field(name, value, required=name in required)
            for name, value in properties.items()
            if name != EXTRA_PROPERTY
        }
        self.keys = tuple(checks[name] for name in key_fields if name in checks)
        key_names = {check.name for check in self.keys}
        self.fields = tuple(check for name, check in checks.items() if name not in key_names)
        # An absent optional field is valid: the sentinel's type `object` stands for absence.
        self._plain = tuple((c.name, c.types | {object}) for c in self.fields if c.simple and not c.required)
        self._other = tuple(c for c in self.fields if not (c.simple and not c.required))
        self._key_types = tuple((c.name, c.types - {type(None)}) for c in self.keys if c.simple)
        self._plain_valid = _all_typed(self._plain)
        self.violations: collections.Counter[str] = collections.Counter()
        self.undeclared: set[str] = set()
        self._last_undeclared: list[str] = []
        self.skipped = 0
        self._lock = threading.Lock()

    # -- keys: checked per page, where the page's URL path is known (any thread) ------

    def keep_keyed(self, records: list[dict[str, t.Any]], path: str) -> list[dict[str, t.Any]]:
        """The page's records that carry a valid primary key; the rest fail or are skipped."""
        keys = self.keys
        if not keys:
            return records
        if len(self._key_types) == len(keys) == 1:  # the common case, kept cheap
            name, types = self._key_types[0]
            bad = [r for r in records if type(r.get(name)) not in types]
        else:
            bad = [r for r in records if not all(self._valid_key(r, check) for check in keys)]
        if not bad:
            return records
        if self.records_without_key == "fail":
            what = self._key_problem(bad[0])
            msg = (
                f"stream {self.stream}: {path} sent {len(bad)} record(s) {what}; a target cannot "
                "merge them. Set records_without_key to skip to drop such records"
            )
            raise ContractError(msg)
        with self._lock:
            self.skipped += len(bad)
        dropped = {id(r) for r in bad}
        return [r for r in records if id(r) not in dropped]

    @staticmethod
    def _valid_key(record: Mapping[str, t.Any], check: FieldCheck) -> bool:
        return record.get(check.name) is not None and check.accepts_in(record)

    def _key_problem(self, record: Mapping[str, t.Any]) -> str:
        for check in self.keys:
            value = record.get(check.name, _MISSING)
            if value is _MISSING or value is None:
                return f"without its primary key {check.name}"
            if not check.accepts(value):
                return f"whose primary key {check.name} is {_json_type(value)}, not {check.allowed}"
        return "with an invalid primary key"

    # -- other fields: checked per record, in the thread that writes records ----------

    def conform(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """The record made valid under the policy (or ContractError under freeze)."""
        if not self._plain_valid(row):
            get = row.get
            for name, types in self._plain:
                if type(get(name, _MISSING)) not in types:
                    self._violated(row, self._field(name), row[name])
        for check in self._other:
            value = row.get(check.name, _MISSING)
            if value is _MISSING:
                if check.required:
                    self._refuse(row, check, "is missing")
                continue
            if not check.accepts(value):
                self._violated(row, check, value)
        return row

    def _field(self, name: str) -> FieldCheck:
        return next(check for check in self.fields if check.name == name)

    def _violated(self, row: dict[str, t.Any], check: FieldCheck, value: object) -> None:
        problem = f"{check.name} not {check.allowed} ({_json_type(value)})"
        self.violations[problem] += 1
        if self.schema_contract == "freeze":
            msg = (
                f"stream {self.stream}: field {check.name} of record {self._key_of(row)} is "
                f"{_json_type(value)}, the schema allows {check.allowed} (schema_contract: freeze)"
            )
            raise ContractError(msg)
        if check.required and not check.nullable:
            self._refuse(row, check, f"is {_json_type(value)}, not {check.allowed}")
        extra = row.get(EXTRA_PROPERTY)
        if not isinstance(extra, dict):
            extra = row[EXTRA_PROPERTY] = {}
        extra[check.name] = value
        if check.nullable:
            row[check.name] = None
        else:
            del row[check.name]

    def _refuse(self, row: Mapping[str, t.Any], check: FieldCheck, problem: str) -> t.NoReturn:
        msg = (
            f"stream {self.stream}: field {check.name} of record {self._key_of(row)} {problem}, "
            "and the schema requires it: the record cannot be kept"
        )
        raise ContractError(msg)

    def _key_of(self, row: Mapping[str, t.Any]) -> str:
        return ", ".join(f"{check.name}={row.get(check.name)!r}" for check in self.keys) or "(no key)"

    def note_undeclared(self, names: list[str]) -> None:
        """Field names the API sent beyond the schema (kept in `extra`)."""
        if names != self._last_undeclared:  # records of one API mostly carry the same ones
            self._last_undeclared = names
            self.undeclared.update(names)

    # -- report: once per stream per run --------------------------------------------

    def report(self, logger: logging.Logger, metrics: logging.Logger) -> None:
        """What arrived: undeclared fields (INFO), violations and skips (WARNING), one METRIC."""
        if self.undeclared:
            logger.info(
                "Stream %s: fields beyond the schema, kept in %s: %s",
                self.stream,
                EXTRA_PROPERTY,
                ", ".join(sorted(self.undeclared)),
            )
        if self.violations:
            logger.warning(
                "Stream %s: values that broke the schema, moved to %s: %s",
                self.stream,
                EXTRA_PROPERTY,
                "; ".join(f"{problem} x{count}" for problem, count in sorted(self.violations.items())),
            )
        if self.skipped:
            logger.warning(
                "Stream %s: skipped %d record(s) without a valid primary key (%s)",
                self.stream,
                self.skipped,
                ", ".join(check.name for check in self.keys),
            )
        if self.undeclared or self.violations or self.skipped:
            point = {
                "type": "counter",
                "metric": "schema_contract",
                "value": sum(self.violations.values()) + self.skipped,
                "tags": {
                    "stream": self.stream,
                    "violations": dict(self.violations),
                    "records_without_key": self.skipped,
                    "undeclared_fields": sorted(self.undeclared),
                },
            }
            metrics.info("METRIC: %s", json.dumps(point, separators=(",", ":")))
