"""Stream schemas: the documents' fields from JSON files, plus the property for the rest."""

from __future__ import annotations

import copy
import typing as t

from singer_sdk import SchemaDirectory

EXTRA_PROPERTY = "extra"
"""Every stream keeps the fields its schema does not declare in this one object property:
singer-sdk and SQL targets drop undeclared fields, even under additionalProperties."""


class DocumentSchemas(SchemaDirectory):
    """JSON schema files, each completed with the `extra` object property."""

    def fetch_schema(self, key: str) -> dict[str, t.Any]:
        """Load `<key>.json` and add the property that keeps undeclared fields."""
        schema = copy.deepcopy(super().fetch_schema(key))
        schema.setdefault("type", "object")
        schema["properties"][EXTRA_PROPERTY] = {
            "type": ["object", "null"],
            "additionalProperties": True,
            "description": "Fields the API sent that the schema does not declare.",
        }
        return schema
