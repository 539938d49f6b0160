"""Benchmark (not a test): the Keys and Users screens on a large device (10,000 keys, 2,000 users).

Run from the repository root:  .venv/bin/python benchmarks/bench_admin_lists.py [--keys 10000] [--users 2000]

Fills an in-process emulator through the API (one batch session), then drives each screen headless
at 80x24 through Textual's Pilot and prints:
  * time to first rows (screen mounted -> rows in the table), next to the baseline: a plain loop over
    the SDK on one keep-alive connection reading every id and every detail (what a list that shows
    nothing until it knows everything would need), and the ratio between the two;
  * time until every detail was read in the background, and the longest the UI could not react meanwhile;
  * time to scroll through the whole list (Page Down to the end of each page of 200 rows, then the
    next page with "]"), and the time for a filter to apply;
  * memory: growth of the process's resident set while the screen is open.
The emulator runs in this process, so its work competes with the console for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from textual.app import App  # noqa: E402
from textual.widgets import DataTable, Input  # noqa: E402

from hsmconsole.access.session import AdminSession  # noqa: E402
from hsmconsole.device import keys, users  # noqa: E402
from hsmconsole.device.client import Credentials, DeviceClient  # noqa: E402
from hsmconsole.device.credentials import CredentialVault  # noqa: E402
from hsmconsole.device.profiles import Profile  # noqa: E402
from hsmconsole.emulator.server import EmbeddedEmulator  # noqa: E402
from hsmconsole.inventory import KeyMechanism, KeyType  # noqa: E402
from hsmconsole.models import UserRole  # noqa: E402
from hsmconsole.secrets import Secret  # noqa: E402
from screens.admin.keys import KeysScreen  # noqa: E402
from screens.admin.listing import PAGE, AdminListScreen  # noqa: E402
from screens.admin.users import UsersScreen  # noqa: E402
from screens.base import DeviceContext, Sessions  # noqa: E402

ADMIN = "benchmark-admin-passphrase"
TICK = 0.02


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fill(client: DeviceClient, n_keys: int, n_users: int) -> None:
    admin = Credentials("admin", Secret(ADMIN))
    with client.batch(admin) as batch:
        for i in range(n_keys):
            ed = i % 2 == 0
            keys.generate_key(
                batch,
                admin,
                KeyType.CURVE25519 if ed else KeyType.EC_P256,
                [KeyMechanism.EDDSA_SIGNATURE if ed else KeyMechanism.ECDSA_SIGNATURE],
                key_id=f"key-{i:05}",
                tags=["web"] if i % 7 == 0 else [],
            )
        for i in range(n_users):
            users.add_user(
                batch, admin, f"user-{i:04}", f"User {i}", UserRole.OPERATOR, Secret("bench-passphrase")
            )


def baseline(client: DeviceClient, kind: str) -> float:
    """The floor for "know everything first": one connection, ids then each detail."""
    admin = Credentials("admin", Secret(ADMIN))
    start = time.perf_counter()
    with client.batch(admin) as batch:
        if kind == "keys":
            keys.get_keys(batch, admin, keys.list_key_ids(batch, admin))
        else:
            users.get_users(batch, admin, users.list_user_ids(batch, admin))
    return time.perf_counter() - start


class Host(App[None]):
    def __init__(self, screen: AdminListScreen[Any]) -> None:
        super().__init__()
        self.list_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.list_screen)
        self.stall = 0.0
        self._last = time.perf_counter()
        self.set_interval(TICK, self._tick)

    def _tick(self) -> None:
        # The longest the event loop could not run a 20 ms timer: how long a key would wait.
        now = time.perf_counter()
        self.stall = max(self.stall, now - self._last - TICK)
        self._last = now


async def drive(ctx: DeviceContext, screen_cls: type[AdminListScreen[Any]]) -> dict[str, float]:
    screen = screen_cls(ctx)
    app = Host(screen)
    rss_before = rss_mib()
    figures: dict[str, float] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        table = screen.query_one("#admin-table", DataTable)
        start = time.perf_counter()
        deadline = time.perf_counter() + 60
        while table.row_count == 0 and time.perf_counter() < deadline:
            await pilot.pause(0.005)
        figures["first rows"] = time.perf_counter() - start
        # While details load in the background, the event loop must keep answering.
        app.stall = 0.0
        deadline = time.perf_counter() + 600  # bounded: a stuck load ends the run with a message
        while screen.catalog is not None and not screen.catalog.complete:
            if time.perf_counter() > deadline:
                known, total = screen.catalog.known, len(screen.catalog)
                raise SystemExit(f"details not complete after 600 s: {known} of {total}")
            failed = [w for w in app.workers if w.error is not None]
            if failed:
                raise SystemExit(f"the details worker failed: {failed[0].error!r}")
            await asyncio.sleep(0.05)
        figures["all details"] = time.perf_counter() - start
        figures["longest UI stall while loading"] = app.stall
        figures["rss growth MiB"] = rss_mib() - rss_before
        # Scroll through everything: Page Down to the end of each page, then the next page. The
        # actions run as the keys would run them; the terminal's frame pacing is not counted.
        app.stall = 0.0
        start = time.perf_counter()
        presses = 0
        pages = (len(screen.selection) + PAGE - 1) // PAGE
        for page in range(pages):
            while table.cursor_row < table.row_count - 1:
                table.action_page_down()
                presses += 1
                await asyncio.sleep(0)
            if page < pages - 1:
                screen.action_page(1)
                await asyncio.sleep(0)
        figures["scroll through"] = time.perf_counter() - start
        figures["key presses"] = presses
        figures["longest UI stall while scrolling"] = app.stall
        start = time.perf_counter()
        field = screen.query_one("#admin-filter", Input)
        field.value = "tag:web" if screen_cls is KeysScreen else "user-19"
        deadline = time.perf_counter() + 60
        while len(screen.selection) == len(screen.catalog or []) and time.perf_counter() < deadline:
            await pilot.pause(0.005)
        figures["filter applied"] = time.perf_counter() - start
        figures["rows after filter"] = len(screen.selection)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    args = parser.parse_args()
    with EmbeddedEmulator() as emu:
        profile = Profile("bench", emu.host_port, fingerprint=emu.fingerprint)
        client = DeviceClient(profile)
        client.provision(Secret("benchmark-unlock-passphrase"), Secret(ADMIN))
        start = time.perf_counter()
        fill(client, args.keys, args.users)
        print(
            f"filled {args.keys:,} keys and {args.users:,} users in {time.perf_counter() - start:.1f} s "
            "(one batch session)"
        )
        for kind, screen_cls in (("keys", KeysScreen), ("users", UsersScreen)):
            floor = baseline(client, kind)
            ctx = DeviceContext(
                profile,
                client,
                CredentialVault(),
                None,
                False,
                Sessions(admin=AdminSession(Credentials("admin", Secret(ADMIN)))),
            )
            figures = asyncio.run(drive(ctx, screen_cls))
            print(f"\n{kind.upper()} ({args.keys if kind == 'keys' else args.users + 1:,})")
            print(f"  baseline: read every id and detail, one connection  {floor:8.2f} s")
            first = figures["first rows"]
            print(
                f"  first rows on screen                                {first:8.2f} s  "
                f"(ratio to baseline {first / floor:.3f})"
            )
            print(f"  every detail read in the background                 {figures['all details']:8.2f} s")
            print(
                f"  longest UI stall while loading (20 ms timer)        "
                f"{figures['longest UI stall while loading'] * 1000:8.0f} ms"
            )
            print(
                f"  longest UI stall while scrolling                    "
                f"{figures['longest UI stall while scrolling'] * 1000:8.0f} ms"
            )
            print(
                f"  scroll through ({int(figures['key presses'])} Page Down, pages of {PAGE})   "
                f"{figures['scroll through']:8.2f} s"
            )
            print(
                f"  filter applied ({int(figures['rows after filter'])} rows)                "
                f"{figures['filter applied'] * 1000:8.0f} ms"
            )
            print(
                f"  resident memory growth                              {figures['rss growth MiB']:8.1f} MiB"
            )


if __name__ == "__main__":
    main()
