"""80x24 snapshots of the administration file screen, from a fixed plan (no device, no clock, no port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from hsmconsole.access.session import AdminSession
from hsmconsole.admin.actor import Actor
from hsmconsole.admin.apply import ApplyReport
from hsmconsole.admin.config import parse_config
from hsmconsole.admin.plan import Plan, Snapshot, make_plan
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.credentials import CredentialVault
from hsmconsole.device.profiles import Profile
from hsmconsole.errors import AuthError
from hsmconsole.secrets import Secret
from screens.admin.plan import PlanScreen
from screens.base import DeviceContext
from tests.integration.test_admin_docs import blocks
from tests.snapshots.test_ceremony_snapshots import SIZE, One, Snap

FP = "3F:A1:77:0C:9E:52:BD:10:44:6A:E8:21:CC:05:9B:73:18:F2:60:AA:4D:37:91:E5:0B:C8:7E:26:54:DA:13:8F"
SOURCE = Path("/srv/signing/signing.toml")


def fixed_plan() -> Plan:
    return make_plan(parse_config(blocks("toml")[0], SOURCE), Snapshot())


class Fixed(PlanScreen):
    """The screen with a plan given instead of read from a device."""

    def __init__(self, plan: Plan) -> None:
        profile = Profile("lab-hsm", "nethsm.example.org:8443", fingerprint=FP)
        ctx = DeviceContext(profile, DeviceClient(profile), CredentialVault())
        ctx.sessions.administrator = Actor(
            AdminSession(Credentials("admin2", Secret("fake-snapshot-pass"))), "", quorum=False
        )
        super().__init__(ctx, SOURCE)
        self.fixed = plan

    def action_replan(self) -> None:
        self.query_one("#plan-file").update(f"File: {SOURCE}")  # type: ignore[attr-defined]
        self._planned(self.fixed)


def test_plan_review(snap_compare: Snap) -> None:
    assert snap_compare(One(Fixed(fixed_plan())), terminal_size=SIZE)


def test_plan_stopped_part_way(snap_compare: Snap) -> None:
    plan = fixed_plan()
    report = ApplyReport(
        plan.changes[:3], plan.changes[3],
        AuthError("Create user images~admin: this user's role may not do that.", ""), plan.changes[4:8],
    )  # fmt: skip

    async def stopped(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, Fixed)
        screen._applied(report)
        await pilot.pause()

    assert snap_compare(One(Fixed(plan)), terminal_size=SIZE, run_before=stopped)
