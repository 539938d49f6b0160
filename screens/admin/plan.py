"""Review an administration file's plan against the device, then apply it with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, ProgressBar, Static

from hsmconsole.admin.actor import Actor
from hsmconsole.admin.apply import ApplyReport, apply_plan
from hsmconsole.admin.config import load_config
from hsmconsole.admin.passphrases import Passphrases
from hsmconsole.admin.plan import Change, Plan
from hsmconsole.admin.state import Actors, compute_plan
from screens.admin.actor import ActorChooser, current_actor
from screens.admin.forms import Field, FormDialog
from screens.base import CoreScreen, DeviceContext, banner
from screens.dialogs import AskDialog, TypedConfirm


def plan_lines(plan: Plan) -> list[str]:
    """The plan as the CLI prints it: conflicts first (they block), then deletions, then the rest."""
    lines = [f"CONFLICT {c.target} (line {c.line}): {c.reason}" for c in plan.conflicts]
    if plan.deletions:
        lines.append(f"Deletions ({len(plan.deletions)}), made first:")
        lines += [f"  {c.describe()}" for c in plan.deletions]
    others = [c for c in plan.changes if not c.op.destructive]
    if others:
        lines.append(f"Changes ({len(others)}):")
        lines += [f"  {c.describe()}" + (f"  [line {c.line}]" if c.line else "") for c in others]
    lines += [f"note: {n}" for n in plan.notes]
    if plan.unmanaged:
        lines.append(f"Not in the file ({len(plan.unmanaged)}; deleted only with prune, p):")
        lines += [f"  {text}" for text in plan.unmanaged]
    if plan.empty:
        lines.append("The device matches the file: nothing to change.")
    return lines


def report_lines(report: ApplyReport) -> list[str]:
    lines = [f"Applied {len(report.applied)} change(s)."]
    if report.failed is not None and report.error is not None:
        lines += [f"FAILED: {report.failed.describe()[2:]}", f"  {report.error.title}"]
        if report.error.hint:
            lines.append(f"  {report.error.hint}")
    if report.not_applied:
        lines.append(f"Not applied ({len(report.not_applied)}); r plans again from the device:")
        lines += [f"  {c.describe()}" for c in report.not_applied]
    return lines


class PlanScreen(CoreScreen[bool]):
    """Opens a file, shows what applying it would change, applies it when asked (typed
    confirmation when it deletes anything), journaling every change."""

    TITLE = "Administration file"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply", id="admin.plan.apply"),
        Binding("r", "replan", "Re-plan", id="admin.plan.replan"),
        Binding("o", "open", "Open file", id="admin.plan.open"),
        Binding("p", "prune", "Prune on/off", id="admin.plan.prune"),
        Binding("escape", "back", "Back", id="admin.plan.back"),
    ]
    MUTATIONS = frozenset({"apply", "replan", "open", "prune"})
    DEFAULT_CSS = """
    PlanScreen #plan-actor { padding: 0 1; text-style: bold; height: 1; }
    PlanScreen #plan-file { padding: 0 1; height: 1; }
    PlanScreen #plan-scroll { height: 1fr; margin: 0 1; border: round $primary; }
    PlanScreen #plan-progress { margin: 0 1; height: 1; }
    PlanScreen #plan-status { padding: 0 1; height: auto; max-height: 2; }
    """

    def __init__(self, ctx: DeviceContext, path: Path | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.path = path
        self.actor: Actor | None = None
        self.plan: Plan | None = None
        self.prune = False
        self.changed = False

    def compose(self) -> ComposeResult:
        yield from banner(self.ctx.profile, self.ctx.emulator)
        yield Static(f"hsmconsole: {self.ctx.profile.name}: {self.TITLE}", classes="title", markup=False)
        yield Static("Who acts: not chosen yet", id="plan-actor", markup=False)
        yield Static("File: none (o opens one)", id="plan-file", markup=False)
        with VerticalScroll(id="plan-scroll"):
            yield Static("", id="plan-body", markup=False)
        # Hidden until an apply starts: an idle bar would read as work under way.
        bar = ProgressBar(id="plan-progress", show_eta=False)
        bar.display = False
        yield bar
        yield Static("", id="plan-status", markup=False, classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        actor = current_actor(self.ctx)
        if actor is None:
            self.app.push_screen(ActorChooser(self.ctx, self.TITLE), self._actor_chosen)
        else:
            self._actor_chosen(actor)

    def _actor_chosen(self, actor: Actor | None) -> None:
        if actor is None:
            self.dismiss(self.changed)
            return
        self.actor = actor
        self.query_one("#plan-actor", Static).update(actor.describe())
        if self.path is None:
            self.action_open()
        else:
            self.action_replan()

    def _status(self, text: str) -> None:
        self.query_one("#plan-status", Static).update(text)

    def _show(self, lines: list[str]) -> None:
        self.query_one("#plan-body", Static).update("\n".join(lines))

    # --- planning ------------------------------------------------------------------------------
    def action_open(self) -> None:
        form = FormDialog(
            "Open an administration file",
            [Field("path", "TOML file", str(self.path or ""), "e.g. /srv/signing/signing.toml")],
            "It is read and checked before anything is sent; see docs/administration.md.",
        )
        self.app.push_screen(form, self._opened)

    def _opened(self, values: dict[str, str] | None) -> None:
        if values and values.get("path"):
            self.path = Path(values["path"]).expanduser()
            self.action_replan()

    def _actors(self, actor: Actor, config: object) -> tuple[Actors, Passphrases]:
        from hsmconsole.admin.model import AdminConfig

        assert isinstance(config, AdminConfig)
        passphrases = Passphrases(self.ctx.profile.name, self.ctx.vault)
        return Actors(actor.credentials(), config, passphrases), passphrases

    def action_replan(self) -> None:
        if self.actor is None or self.path is None:
            return
        actor, path, client, prune = self.actor, self.path, self.ctx.client, self.prune
        self.query_one("#plan-file", Static).update(f"File: {path}" + ("  (prune on)" if prune else ""))
        self._status("Reading the file and the device ...")

        def run() -> Plan:
            config = load_config(path)
            actors, _ = self._actors(actor, config)
            try:
                return compute_plan(client, config, actors, prune=prune)
            finally:
                actors.forget()

        self.run_core("Plan", run, self._planned, mutation=True, on_error=self._plan_failed)

    def _planned(self, plan: Plan) -> None:
        self.plan = plan
        self.query_one("#plan-progress", ProgressBar).display = False
        self._show(plan_lines(plan))
        if plan.conflicts:
            self._status(
                f"{len(plan.conflicts)} conflict(s): apply is refused until the file or the device changes."
            )
        elif plan.changes:
            self._status(f"{len(plan.changes)} change(s) to make: a applies them.")
        else:
            self._status("Nothing to apply.")

    def _plan_failed(self, err: object) -> None:
        from hsmconsole.errors import HsmConsoleError

        assert isinstance(err, HsmConsoleError)
        self.plan = None
        self._show([err.title, *err.hint.splitlines()])
        self._status("Fix the file (or the device) and press r to plan again.")

    def action_prune(self) -> None:
        self.prune = not self.prune
        self.action_replan()

    # --- applying ------------------------------------------------------------------------------
    def action_apply(self) -> None:
        plan = self.plan
        if plan is None or not plan.changes:
            self.notify("Nothing to apply: open a file and plan first.", markup=False)
            return
        if plan.conflicts:
            self.notify("Conflicts block the apply: see the first lines.", severity="warning", markup=False)
            return
        if plan.deletions:
            word = f"delete {len(plan.deletions)}"
            confirm = TypedConfirm(
                f"Apply {len(plan.changes)} change(s), {len(plan.deletions)} of them deletions?",
                "Deleted keys, users and namespaces (with every key in them) cannot be brought back.",
                word,
            )
            self.app.push_screen(confirm, self._confirmed)
        else:
            ask = AskDialog(
                f"Apply {len(plan.changes)} change(s)?",
                "Each change is journaled. A refused request stops the apply; r plans the rest.",
                "Apply",
            )
            self.app.push_screen(ask, self._confirmed)

    def _confirmed(self, ok: bool | None) -> None:
        plan, actor = self.plan, self.actor
        if not ok or plan is None or actor is None or self.path is None:
            return
        client, journal, path = self.ctx.client, self.ctx.journal, self.path
        bar = self.query_one("#plan-progress", ProgressBar)
        bar.update(total=len(plan.changes), progress=0)
        bar.display = True

        def progress(index: int, total: int, change: Change) -> None:
            # A worker never touches widgets: the update runs on the UI thread.
            self.app.call_from_thread(self._progress, index, change)

        def run() -> ApplyReport:
            config = load_config(path)
            actors, passphrases = self._actors(actor, config)
            return apply_plan(client, plan, actors, passphrases, journal=journal, progress=progress)

        self._status("Applying ...")
        self.run_core("Apply", run, self._applied, mutation=True)

    def _progress(self, index: int, change: Change) -> None:
        self.query_one("#plan-progress", ProgressBar).update(progress=index)
        self._status(change.describe())

    def _applied(self, report: ApplyReport) -> None:
        self.changed = self.changed or bool(report.applied)
        bar = self.query_one("#plan-progress", ProgressBar)
        bar.update(progress=len(report.applied))
        self.plan = None
        self._show(report_lines(report))
        self._status(
            "Done: r plans again (it should show nothing to change)."
            if report.ok
            else "Stopped: r plans again from what the device holds now."
        )

    def action_back(self) -> None:
        self.dismiss(self.changed)
