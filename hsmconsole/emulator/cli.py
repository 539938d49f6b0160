"""`hsmconsole emulator`: serve the emulated NetHSM API over HTTPS until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from hsmconsole.errors import ConnectionFailed


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("emulator", help="run the built-in NetHSM emulator")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8443, help="TCP port (default 8443; 0 picks a free one)")
    p.add_argument(
        "--state-dir",
        default=None,
        help="keep the device's store here across restarts (a restart is a reboot); default: memory",
    )
    p.set_defaults(handler=run)


def _warn_exposed(host: str) -> None:
    bar = "!" * 72
    print(
        f"{bar}\n"
        f"WARNING: the NetHSM emulator is listening on {host}, not on loopback.\n"
        "Other machines can reach it. It is a test device: its keys and passphrases are NOT\n"
        "protected like a real NetHSM's. Use --host 127.0.0.1 unless you really mean this.\n"
        f"{bar}",
        file=sys.stderr,
        flush=True,
    )


def run(args: argparse.Namespace) -> int:
    # Imported here: uvicorn and the emulator are only needed by this subcommand.
    from hsmconsole.emulator.server import EmbeddedEmulator, is_loopback

    host: str = args.host
    state_dir = Path(args.state_dir) if args.state_dir else None
    if not is_loopback(host):
        _warn_exposed(host)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            emulator = EmbeddedEmulator(state_dir=state_dir, host=host, port=args.port)
        except OSError as exc:
            raise ConnectionFailed(
                f"Cannot open the state directory {state_dir}: {exc.strerror or type(exc).__name__}."
            ) from None
        emulator.start()
        print(f"NetHSM emulator: {emulator.url}", flush=True)
        print(f"TLS certificate SHA-256 fingerprint: {emulator.fingerprint}", flush=True)
        print(f"State: {'memory only' if state_dir is None else state_dir}. Stop with Ctrl-C.", flush=True)
        # Wake up regularly: signals set the event, and a shutdown through the API ends the thread.
        while not stop.is_set() and not emulator.wait(timeout=0.2):
            pass
        if not emulator.powered_off:
            # Like pulling the plug after a clean shutdown: persist what the device keeps in RAM.
            emulator.hsm.shutdown()
        emulator.stop()
        if emulator.powered_off:
            print("The emulated device was shut down through the API.", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
