"""What the list screens share from screens/base.py: the help binding and keeping the highlighted option."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from screens.base import help_binding, highlighted_id, refill_options
from screens.connect import ConnectScreen
from screens.dashboard import DashboardScreen
from screens.signin import SignInScreen


class ListApp(App[None]):
    def compose(self) -> ComposeResult:
        yield OptionList(id="list")


def _opts(*ids: str, disabled: frozenset[str] = frozenset()) -> list[Option]:
    return [Option(i, id=i, disabled=i in disabled) for i in ids]


async def test_refill_keeps_the_highlighted_option_by_id() -> None:
    app = ListApp()
    async with app.run_test(size=(80, 24)):
        options = app.query_one("#list", OptionList)
        refill_options(options, _opts("a", "b", "c"))
        assert highlighted_id(options) == "a"  # nothing before: the first
        options.highlighted = 2
        refill_options(options, _opts("c", "a", "b"))  # reordered (a refresh): still "c"
        assert highlighted_id(options) == "c"
        refill_options(options, _opts("a", "b", "c", disabled=frozenset({"c"})))
        assert highlighted_id(options) == "a"  # "c" is dimmed now: the first enabled one
        refill_options(options, _opts("a", "b", disabled=frozenset({"a"})))
        assert highlighted_id(options) == "b"
        refill_options(options, _opts("a", "b", "new"), select="new")  # just added: it wins
        assert highlighted_id(options) == "new"
        refill_options(options, _opts("a", "b"))  # "new" deleted
        assert highlighted_id(options) == "a"
        refill_options(options, [])
        assert highlighted_id(options) is None


def test_the_list_screens_share_one_help_binding() -> None:
    screens = ((ConnectScreen, "connect"), (DashboardScreen, "dashboard"), (SignInScreen, "signin"))
    for screen, name in screens:
        helps = [b for b in screen.BINDINGS if getattr(b, "action", None) == "app.help"]
        assert helps == [help_binding(name)], screen.__name__
