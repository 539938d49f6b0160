"""Namespace operations on a device (list, create, delete), root Administrators only (reference §6.4)."""

from __future__ import annotations

from hsmconsole.device.client import Caller, Credentials
from hsmconsole.errors import InputError
from hsmconsole.inventory import check_id


def list_namespaces(client: Caller, creds: Credentials) -> list[str]:
    return client.call("List namespaces", creds, lambda s: s.list_namespaces())


def create_namespace(client: Caller, creds: Credentials, namespace: str) -> None:
    """Create `namespace`. Create its administrator (`ns~name`) first: once the namespace exists,
    a root Administrator may no longer add users to it (reference §4.1)."""
    check_id(namespace, "Namespace")
    exists = InputError(f"Namespace {namespace} already exists.", "Choose another name or use it.")
    client.call(f"Create namespace {namespace}", creds, lambda s: s.add_namespace(namespace), {400: exists})


def delete_namespace(client: Caller, creds: Credentials, namespace: str) -> None:
    """Delete `namespace` and every key in it; its users remain, unable to do anything."""
    missing = InputError(f"There is no namespace {namespace}.", "Refresh the list.")
    client.call(
        f"Delete namespace {namespace}", creds, lambda s: s.delete_namespace(namespace), {404: missing}
    )
