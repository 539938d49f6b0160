"""The administration list screen: who acts, a filter line, a paged table, details read lazily in a worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import get_current_worker

from hsmconsole.admin.actor import Actor
from hsmconsole.admin.catalog import CHUNK, Catalog, Filter
from hsmconsole.device.client import Caller, Credentials, DeviceClient
from hsmconsole.errors import ErrorKind, HsmConsoleError
from screens.admin.actor import ActorChooser, current_actor
from screens.base import CoreScreen, DeviceContext, banner

T = TypeVar("T")

PAGE = 200  # rows in the table at once: 10,000 rows take seconds to lay out, 500 still ~0.4 s


class AdminListScreen(CoreScreen[bool], Generic[T]):
    """Subclasses say what is listed (NOUN, COLUMNS, list_ids, read, cells) and add their actions."""

    NOUN = "items"
    COLUMNS: ClassVar[tuple[tuple[str, int], ...]] = ()
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", key_display="/", show=False, id="admin.list.filter"),
        Binding("escape", "back", "Back", id="admin.list.back"),
        Binding(
            "right_square_bracket",
            "page(1)",
            "Next page",
            key_display="]",
            show=False,
            id="admin.list.next_page",
        ),
        Binding(
            "left_square_bracket",
            "page(-1)",
            "Previous page",
            key_display="[",
            show=False,
            id="admin.list.previous_page",
        ),
        Binding("f5", "reload", "Reload", show=False, id="admin.list.reload"),
        Binding("question_mark,f1", "app.help", "Help", key_display="?", show=False, id="admin.list.help"),
    ]
    DEFAULT_CSS = """
    AdminListScreen #admin-filter { margin: 0 1; }
    AdminListScreen DataTable { height: 1fr; margin: 0 1; }
    AdminListScreen #admin-actor { padding: 0 1; text-style: bold; height: 1; }
    AdminListScreen #admin-note { padding: 0 1; height: auto; max-height: 2; }
    """

    def __init__(self, ctx: DeviceContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.actor: Actor | None = None
        self.catalog: Catalog[T] | None = None
        self.filter = Filter()
        self.selection: list[str] = []
        self.pending = 0
        self.page = 0
        self.changed = False
        self.started = time.perf_counter()
        self.first_rows_at: float | None = None  # seconds from mount to the first rows (benchmark)
        self._filter_timer: Timer | None = None

    # --- what subclasses provide ---------------------------------------------------------------
    def list_ids(self, client: DeviceClient, creds: Credentials) -> list[str]:
        raise NotImplementedError

    def read(self, caller: Caller, creds: Credentials, ids: list[str]) -> list[T]:
        raise NotImplementedError

    def item_id(self, item: T) -> str:
        raise NotImplementedError

    def cells(self, item_id: str, item: T | None) -> tuple[str, ...]:
        raise NotImplementedError

    def scope_text(self) -> str:
        return self.actor.scope_note(self.NOUN) if self.actor else ""

    # --- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"hsmconsole: {self.ctx.profile.name}: {self.TITLE}", classes="title", markup=False)
        yield Static("Who acts: not chosen yet", id="admin-actor", markup=False)
        yield Input(
            placeholder="Filter (/): words in the id; tag:X type:X role:X ns:X",
            id="admin-filter",
            compact=True,
        )
        table: DataTable[str] = DataTable(id="admin-table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="admin-note", markup=False, classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#admin-table", DataTable)
        for label, width in self.COLUMNS:
            table.add_column(label, width=width, key=label)
        actor = current_actor(self.ctx)
        if actor is None:
            self.app.push_screen(ActorChooser(self.ctx, self.TITLE or self.NOUN), self._actor_chosen)
        else:
            self._actor_chosen(actor)

    def _actor_chosen(self, actor: Actor | None) -> None:
        if actor is None:
            self.dismiss(self.changed)
            return
        self.actor = actor
        if not actor.quorum and actor.user_id not in self.ctx.profile.users:
            self.ctx.profile = self.ctx.profile.with_user(actor.user_id)
        self.query_one("#admin-actor", Static).update(actor.describe())
        self.query_one("#admin-table", DataTable).focus()
        self.action_reload()

    # --- loading -------------------------------------------------------------------------------
    def action_reload(self) -> None:
        if self.actor is None:
            return
        client, creds = self.ctx.client, self.actor.credentials()
        self.note(f"Reading the {self.NOUN} ...")
        self.run_core(
            f"List {self.NOUN}",
            lambda: self.list_ids(client, creds),
            self._listed,
            mutation=False,
            on_error=self._list_failed,
        )

    def _list_failed(self, err: HsmConsoleError) -> None:
        if err.kind is ErrorKind.AUTH and self.actor is not None:
            # Not allowed is an answer, not a failure: say it where the rows would be.
            self.note(f"{self.actor.user_id} may not list {self.NOUN}: {err.title} {err.hint}".strip())
            return
        self.show_error(err)

    def _listed(self, ids: list[str]) -> None:
        again = self.catalog is not None  # a reload after a change: stay where the person was
        self.catalog = Catalog(ids, key=self.item_id)
        self._apply_filter(keep_cursor=again)
        if self.first_rows_at is None:
            self.first_rows_at = time.perf_counter() - self.started
        self._start_details()

    def _start_details(self) -> None:
        """Read details in chunks on one device session, rows on screen first; the UI thread owns
        the catalog and hands out the ids, the worker only talks to the device."""
        if self.actor is None:
            return
        client, creds = self.ctx.client, self.actor.credentials()
        app = self.app

        def work() -> None:
            worker = get_current_worker()
            with client.batch(creds) as batch:
                while not worker.is_cancelled:
                    ids = app.call_from_thread(self._wanted_ids)
                    if not ids:
                        return
                    items = self.read(batch, creds, ids)
                    if worker.is_cancelled:
                        return
                    app.call_from_thread(self._details_arrived, items, ids)

        self.run_worker(
            work, name="details", group="details", thread=True, exit_on_error=False, exclusive=True
        )

    def _visible_ids(self) -> list[str]:
        table = self.query_one("#admin-table", DataTable)
        start = PAGE * self.page
        top = start + max(0, int(table.scroll_y))
        return self.selection[top : top + max(table.size.height, 24) + 5]

    def _wanted_ids(self) -> list[str]:
        if self.catalog is None:
            return []
        on_screen = self.catalog.missing(self._visible_ids())
        return on_screen[:CHUNK] if on_screen else self.catalog.next_chunk()

    def _details_arrived(self, items: list[T], asked: list[str]) -> None:
        if self.catalog is None:
            return
        self.catalog.add(items)
        found = {self.item_id(i) for i in items}
        for gone in (i for i in asked if i not in found):
            self.catalog.drop(gone)  # deleted on the device meanwhile
        if self.filter.needs_details:
            self._apply_filter(keep_cursor=True)
        else:
            self._update_rows(found)
        self._summary()

    # --- the table -----------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "admin-filter":
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(0.15, lambda: self._set_filter(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "admin-filter":
            self._set_filter(event.value)
            self.query_one("#admin-table", DataTable).focus()

    def _set_filter(self, text: str) -> None:
        self.filter = Filter.parse(text)
        self._apply_filter(keep_cursor=False)

    def _apply_filter(self, *, keep_cursor: bool) -> None:
        if self.catalog is None:
            return
        self.selection, self.pending = self.catalog.select(self.filter)
        if not keep_cursor:
            self.page = 0
        self.page = min(self.page, max(0, (len(self.selection) - 1) // PAGE))
        self._fill(keep_cursor=keep_cursor)

    def _fill(self, *, keep_cursor: bool) -> None:
        table = self.query_one("#admin-table", DataTable)
        row = table.cursor_row if keep_cursor else 0
        table.clear()
        assert self.catalog is not None
        ids = self.selection[PAGE * self.page : PAGE * (self.page + 1)]
        table.add_rows(self.cells(i, self.catalog.details.get(i)) for i in ids)
        # Row keys would be nicer, but add_rows with keys costs more; the id is column 0.
        if ids:
            table.move_cursor(row=min(row, len(ids) - 1))
        self._summary()

    def _update_rows(self, ids: set[str]) -> None:
        assert self.catalog is not None
        table = self.query_one("#admin-table", DataTable)
        start = PAGE * self.page
        for index, item_id in enumerate(self.selection[start : start + PAGE]):
            if item_id in ids:
                for col, value in enumerate(self.cells(item_id, self.catalog.details.get(item_id))):
                    table.update_cell_at(Coordinate(index, col), value)

    def _summary(self) -> None:
        if self.catalog is None:
            return
        total, shown = len(self.catalog), len(self.selection)
        noun = self.NOUN[:-1] if total == 1 else self.NOUN
        parts = [f"{shown:,} of {total:,} {noun}" if self.filter != Filter() else f"{total:,} {noun}"]
        if shown > PAGE:
            first = PAGE * self.page + 1
            parts.append(f"rows {first:,}-{min(shown, first + PAGE - 1):,} ([ ] pages)")
        if not self.catalog.complete:
            parts.append(f"details read for {self.catalog.known:,}")
            if self.pending:
                parts.append(f"{self.pending:,} more may match once read")
        scope = self.scope_text()
        text = "; ".join(parts) + "."
        if total == 0 and scope:
            text = f"No {self.NOUN}. {scope}"
        elif scope:
            text += " " + scope
        self.note(text)

    def action_page(self, step: int) -> None:
        pages = max(1, (len(self.selection) + PAGE - 1) // PAGE)
        target = self.page + step
        if 0 <= target < pages:
            self.page = target
            self._fill(keep_cursor=False)

    def action_focus_filter(self) -> None:
        self.query_one("#admin-filter", Input).focus()

    def selected_id(self) -> str | None:
        table = self.query_one("#admin-table", DataTable)
        index = PAGE * self.page + table.cursor_row
        if not self.selection or not 0 <= index < len(self.selection):
            self.notify(f"No {self.NOUN} selected.", severity="warning")
            return None
        return self.selection[index]

    def selected_item(self) -> T | None:
        item_id = self.selected_id()
        if item_id is None or self.catalog is None:
            return None
        return self.catalog.details.get(item_id)

    def note(self, text: str) -> None:
        self.query_one("#admin-note", Static).update(text)

    def after_change(self, message: str) -> Callable[[Any], None]:
        """A callback for a finished change: say it, and list again."""

        def done(_: Any) -> None:
            self.changed = True
            self.notify(message, markup=False)
            self.action_reload()

        return done

    def need_actor(self) -> Actor | None:
        if self.actor is None or not self.actor.open:
            self.notify("The administrator session has closed: open this section again.", severity="warning")
            return None
        return self.actor

    def action_back(self) -> None:
        if (
            self.focused is self.query_one("#admin-filter", Input)
            and self.query_one("#admin-filter", Input).value
        ):
            self.query_one("#admin-filter", Input).value = ""
            self._set_filter("")
            return
        self.dismiss(self.changed)
