"""The command palette (F10): every dashboard action by name, so a section is found by typing it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from screens.dashboard import DashboardScreen


class DashboardCommands(Provider):
    """Lists the dashboard's actions (models.actions_for: the ceremony, Users, Namespaces, Keys and
    what other flows add), enabled or with the reason they are not; running one is the same as
    choosing it on the dashboard, which is where the palette goes back to first."""

    def _dashboard(self) -> DashboardScreen | None:
        for screen in reversed(self.app.screen_stack):
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    def _run(self, action_id: str) -> None:
        dashboard = self._dashboard()
        if dashboard is None:
            return
        while self.app.screen is not dashboard and len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        dashboard.run_action_id(action_id)

    def _entries(self) -> list[tuple[str, str, str]]:
        dashboard = self._dashboard()
        if dashboard is None:
            return []
        return [(a.id, a.label, "" if a.enabled else f"not now: {a.reason}") for a in dashboard.actions]

    async def discover(self) -> Hits:
        for action_id, label, help_text in self._entries():
            yield DiscoveryHit(label, partial(self._run, action_id), help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action_id, label, help_text in self._entries():
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(label), partial(self._run, action_id), help=help_text or None
                )
