"""A small JSON-schema subset, so the JSON check needs no extra dependency.

Supported keywords: type, properties, required, additionalProperties (true/false), items,
enum, const, minimum, maximum, minLength, maxLength, minItems, maxItems (plus title,
description, $schema, which are ignored). A schema using anything else is refused when
the check is built: use a pydantic model for richer rules.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KEYWORDS", "schema_errors"]

KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum",
             "const", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
             "title", "description", "$schema"}
_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
    "integer": int, "number": (int, float),
}


def schema_errors(schema: dict, value: Any, at: str, *, only_keywords: bool = False
                   ) -> list[str]:
    """Return the problems of ``value`` against ``schema`` (empty: it fits).

    Args:
        schema: A JSON schema using only the keywords in ``KEYWORDS``.
        value: Parsed JSON.
        at: Where ``value`` sits, for messages (``$`` is the top).
        only_keywords: Check the schema itself instead (raises on an unknown keyword).

    Raises:
        TypeError: ``schema`` is not a dict.
        ValueError: ``schema`` uses a keyword outside the subset.
    """
    if not isinstance(schema, dict):
        raise TypeError(f"a JSON schema must be a dict or a pydantic model, not {schema!r}")
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise ValueError(f"unsupported JSON schema keywords at {at}: {sorted(unknown)}")
    if only_keywords:
        for key, sub in (schema.get("properties") or {}).items():
            schema_errors(sub, None, f"{at}.{key}", only_keywords=True)
        if isinstance(schema.get("items"), dict):
            schema_errors(schema["items"], None, f"{at}[]", only_keywords=True)
        return []
    kind = schema.get("type")
    if kind:
        wanted = _TYPES[kind]
        bad_bool = isinstance(value, bool) and kind in ("integer", "number")
        if not isinstance(value, wanted) or bad_bool:
            return [f"{at}: expected {kind}, got {type(value).__name__}"]
    problems = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{at}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{at}: must be one of {schema['enum']!r}")
    limits = [("minimum", lambda v, n: v >= n), ("maximum", lambda v, n: v <= n),
              ("minLength", lambda v, n: len(v) >= n), ("maxLength", lambda v, n: len(v) <= n),
              ("minItems", lambda v, n: len(v) >= n), ("maxItems", lambda v, n: len(v) <= n)]
    for key, ok in limits:
        if key in schema and not ok(value, schema[key]):
            problems.append(f"{at}: {key} is {schema[key]}")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        problems += [f"{at}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{at}: unexpected {k!r}" for k in value if k not in props]
        for key, sub in props.items():
            if key in value:
                problems += schema_errors(sub, value[key], f"{at}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += schema_errors(schema["items"], item, f"{at}[{i}]")
    return problems
