"""Default timeout and retry per method from a gRPC service config (``*_grpc_service_config.json``).

Name matching follows gRPC's service-config rules: an entry naming service and method wins over
one naming only the service, which wins over an empty name (the default for every method).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.errors import CodegenError
from codegen.model import MethodPolicy, RetryPolicy

CONFIG_NAME = "generativeai_grpc_service_config.json"
"""The file name the API ships its service config under, beside its protos."""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)s$")


def parse_duration(text: object, where: str) -> float:
    """Seconds of a JSON ``google.protobuf.Duration`` such as ``"60s"`` or ``"0.5s"``."""
    if not isinstance(text, str) or not (match := _DURATION.match(text)):
        raise CodegenError(f'{where}: expected a duration like "60s", got {text!r}')
    return float(match.group(1))


@dataclass(frozen=True)
class ServiceConfig:
    """The method policies of one service config, by the names they apply to."""

    exact: Mapping[tuple[str, str], MethodPolicy]
    by_service: Mapping[str, MethodPolicy]
    default: MethodPolicy | None

    def policy(self, service: str, method: str) -> MethodPolicy:
        """The policy for ``service`` (full name) / ``method``; empty when none applies."""
        found = self.exact.get((service, method)) or self.by_service.get(service) or self.default
        return found or MethodPolicy()


def _retry(raw: object, where: str) -> RetryPolicy:
    if not isinstance(raw, dict):
        raise CodegenError(f"{where}: retryPolicy must be an object")
    try:
        codes = raw["retryableStatusCodes"]
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise CodegenError(f"{where}: retryableStatusCodes must be a list of status names")
        return RetryPolicy(
            max_attempts=int(raw["maxAttempts"]),
            initial_backoff=parse_duration(raw["initialBackoff"], f"{where}.initialBackoff"),
            max_backoff=parse_duration(raw["maxBackoff"], f"{where}.maxBackoff"),
            multiplier=float(raw["backoffMultiplier"]),
            retry_codes=tuple(c.upper() for c in codes),
        )
    except KeyError as exc:
        raise CodegenError(f"{where}: retryPolicy lacks {exc.args[0]}") from None
    except (TypeError, ValueError) as exc:
        raise CodegenError(f"{where}: bad retryPolicy: {exc}") from None


def parse_service_config(data: Any, where: str) -> ServiceConfig:
    """Read the ``methodConfig`` list of a parsed service-config JSON document."""
    exact: dict[tuple[str, str], MethodPolicy] = {}
    by_service: dict[str, MethodPolicy] = {}
    default: MethodPolicy | None = None
    if not isinstance(data, dict) or not isinstance(data.get("methodConfig", []), list):
        raise CodegenError(f"{where}: expected an object with a methodConfig list")
    for index, entry in enumerate(data.get("methodConfig", [])):
        at = f"{where}: methodConfig[{index}]"
        if not isinstance(entry, dict):
            raise CodegenError(f"{at} must be an object")
        timeout = parse_duration(entry["timeout"], f"{at}.timeout") if "timeout" in entry else None
        retry = (
            _retry(entry["retryPolicy"], f"{at}.retryPolicy") if "retryPolicy" in entry else None
        )
        policy = MethodPolicy(timeout=timeout, retry=retry)
        for name in entry.get("name", []):
            if not isinstance(name, dict):
                raise CodegenError(f"{at}.name entries must be objects")
            service, method = name.get("service", ""), name.get("method", "")
            if method and not service:
                raise CodegenError(f"{at}: a name with a method must name its service")
            if service and method:
                exact.setdefault((service, method), policy)
            elif service:
                by_service.setdefault(service, policy)
            elif default is None:
                default = policy
    return ServiceConfig(exact=exact, by_service=by_service, default=default)


def load_service_config(path: Path, where: str) -> ServiceConfig:
    """Parse the service config at ``path``; ``where`` names it in errors (no absolute paths)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CodegenError(f"{where}: invalid JSON: {exc}") from None
    return parse_service_config(data, where)
