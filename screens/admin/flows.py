"""The administration sections as dashboard flows (action id -> screen factory)."""

from __future__ import annotations

from screens.admin.keys import KeysScreen
from screens.admin.namespaces import NamespacesScreen
from screens.admin.plan import PlanScreen
from screens.admin.users import UsersScreen
from screens.dashboard import FlowFactory


def admin_flows() -> dict[str, FlowFactory]:
    return {"users": UsersScreen, "namespaces": NamespacesScreen, "keys": KeysScreen, "plan": PlanScreen}
