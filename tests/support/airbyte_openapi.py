"""Airbyte's own OpenAPI description, as the judge of the fake server and the client.

The verbatim copies in ``../shared/airbyte/openapi/`` (their README says from where:
airbytehq/airbyte-platform ``airbyte-api/server-api/src/main/openapi/api.yaml`` and
``airbyte-api/problems-api/src/main/openapi/api-problems.yaml``) are read from there, never copied
into this repository. :class:`AirbyteOpenAPI` checks one exchange:

* a request body against the operation's ``requestBody`` schema;
* a 2xx response body against the operation's response schema;
* an error body against the problem it claims to be (``type``), from api-problems.yaml, whose
  ``status`` and ``title`` must be that problem's documented constants (the ``default`` values).
  api.yaml's lists of error answers are incomplete (``POST /jobs`` lists no 409, which the server's
  problem handler sends as try-again-later or state-conflict), so any problem may come with any path.

Schemas are JSON Schema 2020-12 (OpenAPI 3.1); ``format`` is not asserted. One documented
exception: api.yaml's ``ApplicationTokenRequestWithGrant`` lists ``grant_type`` as required but
defines the property as ``grant-type``; the server reads ``grant-type`` (the name the client sends),
so the required name is taken from the property.
"""

from __future__ import annotations

import re
import typing as t
from functools import cached_property
from pathlib import Path

import yaml

from foundation.paths import PROJECT_ROOT

OPENAPI_DIR = PROJECT_ROOT.parent / "shared" / "airbyte" / "openapi"


class AirbyteOpenAPI:
    def __init__(self, directory: Path = OPENAPI_DIR) -> None:
        if not (directory / "api.yaml").is_file():
            raise FileNotFoundError(
                f"Airbyte's OpenAPI description is not at {directory} (api.yaml, api-problems.yaml; see "
                "../shared/airbyte/openapi/README.md): the Airbyte tests check the fake and the client against it"
            )
        self.api = yaml.safe_load((directory / "api.yaml").read_text())
        self.problems = yaml.safe_load((directory / "api-problems.yaml").read_text())
        token = self.api["components"]["schemas"]["ApplicationTokenRequestWithGrant"]
        token["required"] = [n if n != "grant_type" else "grant-type" for n in token["required"]]

    @cached_property
    def _operations(self) -> list[tuple[re.Pattern[str], str, dict[str, t.Any]]]:
        found = []
        for template, item in self.api["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for method, operation in item.items():
                if isinstance(operation, dict) and "responses" in operation:
                    found.append((pattern, method.upper(), operation))
        return found

    def operation(self, method: str, path: str) -> dict[str, t.Any] | None:
        for pattern, known, operation in self._operations:
            if known == method and pattern.match(path):
                return operation
        return None

    def check_request(self, method: str, path: str, body: t.Any) -> list[str]:
        operation = self.operation(method, path)
        if operation is None:
            return [f"{method} {path}: no such operation in api.yaml"]
        content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
        if content is None:
            return [] if body is None else [f"{method} {path}: api.yaml defines no JSON request body"]
        if body is None and (operation.get("requestBody") or {}).get("required"):
            return [f"{method} {path}: the request body is required"]
        return self._errors(self.api, content["schema"], body, f"{method} {path} request")

    def check_response(self, method: str, path: str, status: int, body: t.Any) -> list[str]:
        operation = self.operation(method, path)
        if operation is None:
            return [f"{method} {path}: no such operation in api.yaml"]
        where = f"{method} {path} -> {status}"
        if 200 <= status < 300:
            if str(status) not in operation["responses"]:
                return [f"{where}: api.yaml lists no {status} answer (it lists {sorted(operation['responses'])})"]
            content = (operation["responses"][str(status)].get("content") or {}).get("application/json")
            if content is None:
                return [] if body in (None, b"", "") else [f"{where}: api.yaml defines no body"]
            return self._errors(self.api, content["schema"], body, where)
        return self.check_problem(body, status, where)

    def check_problem(self, body: t.Any, status: int, where: str) -> list[str]:
        """An error body must be one of api-problems.yaml's problems, with its constants."""
        if not isinstance(body, dict) or "type" not in body:
            return [f"{where}: not a problem body (api-problems.yaml): {str(body)[:120]}"]
        for name, schema in self.problems["components"]["schemas"].items():
            fields = _problem_fields(schema)
            if fields.get("type", {}).get("default") == body["type"]:
                errors = self._errors(self.problems, {"$ref": f"#/components/schemas/{name}"}, body, where)
                for constant in ("status", "title"):
                    expected = fields.get(constant, {}).get("default")
                    if expected is not None and body.get(constant) != expected:
                        errors.append(
                            f"{where}: {name}.{constant} is {expected!r}, the body says {body.get(constant)!r}"
                        )
                if status != fields.get("status", {}).get("default", status):
                    errors.append(f"{where}: {name} is sent with HTTP {fields['status']['default']}, not {status}")
                return errors
        return [f"{where}: no problem in api-problems.yaml has type {body['type']!r}"]

    @staticmethod
    def _errors(document: dict[str, t.Any], schema: dict[str, t.Any], body: t.Any, where: str) -> list[str]:
        from jsonschema import Draft202012Validator

        root = {**schema, "components": document["components"]}
        return [
            f"{where}: {'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message[:200]}"
            for error in Draft202012Validator(root).iter_errors(body)
        ]


def _problem_fields(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    fields: dict[str, t.Any] = {}
    for part in schema.get("allOf", []):
        fields.update(part.get("properties", {}))
    return fields


_LOADED: AirbyteOpenAPI | None = None


def openapi() -> AirbyteOpenAPI:
    """The description, loaded once per test session."""
    global _LOADED
    if _LOADED is None:
        _LOADED = AirbyteOpenAPI()
    return _LOADED
