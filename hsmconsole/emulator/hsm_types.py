"""Types and helpers the device model shares with its parts and the HTTP layer: states, roles, users."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hsmconsole.emulator.errors import ApiError

__all__ = [
    "STORES",
    "UNAVAILABLE",
    "DeviceState",
    "Role",
    "UserRecord",
    "corrupt",
    "id_problem",
    "is_valid_id",
    "is_valid_user_id",
    "key_path",
]

UNAVAILABLE = "Service not available"
# (path prefix, store name): the stores sealed with keys derived from the domain key.
STORES = (("/authentication/", "auth_store"), ("/key/", "key_store"), ("/namespace/", "namespace_store"))


class DeviceState(enum.Enum):
    UNPROVISIONED = "Unprovisioned"
    LOCKED = "Locked"
    OPERATIONAL = "Operational"
    FAILED = "Failed"


class Role(enum.Enum):
    ADMINISTRATOR = "Administrator"
    OPERATOR = "Operator"
    METRICS = "Metrics"
    BACKUP = "Backup"


@dataclass(frozen=True)
class UserRecord:
    user_id: str  # "id" or "ns~id"
    real_name: str
    role: Role
    tags: tuple[str, ...]

    @property
    def namespace(self) -> str:
        """ "" for root users, else the part before the first "~"."""
        return self.user_id.split("~", 1)[0] if "~" in self.user_id else ""


_ID_CHARS = re.compile(r"[A-Za-z0-9_.\-]*")


def id_problem(text: str) -> str | None:
    """The device's one identifier rule (json.ml `valid_id`), for users, namespaces, keys and tags:
    None for a valid id, else the device's message for the first rule broken, in its order."""
    if len(text) < 1:
        return "ID cannot be shorter than 1 character."
    if len(text) > 128:
        return "ID cannot be longer than 128 characters."
    if not text.isascii() or _ID_CHARS.fullmatch(text) is None:
        return "ID may only contain alphanumeric characters, underscores, dashes, and dots."
    if text[0] in "_-.":
        return "ID cannot start with underscore, dash, or dot."
    return None


def is_valid_id(text: str) -> bool:
    """id_problem as a yes/no (stored records are checked with it; requests with valid_id)."""
    return id_problem(text) is None


def is_valid_user_id(text: str) -> bool:
    """`id` or `ns~id`, split at the first "~"."""
    return all(is_valid_id(part) for part in text.split("~", 1))


def corrupt(what: str) -> ApiError:
    # The device answers 500 for store inconsistencies; `what` names a path, never a value.
    return ApiError(500, f"Corrupted database: {what}")


def key_path(namespace: str, key_id: str) -> str:
    return f"/key/{key_id}" if not namespace else f"/key/.{namespace}/{key_id}"
