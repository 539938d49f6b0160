"""`hsmconsole emulator`: serve the emulated NetHSM API over HTTPS until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from hsmconsole.errors import ConnectionFailed, InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa


def configure(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("emulator", help="run the built-in NetHSM emulator")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=8443, help="TCP port (default 8443; 0 picks a free one)")
    p.add_argument(
        "--state-dir",
        default=None,
        help="keep the device's store here across restarts (a restart is a reboot); default: memory",
    )
    p.add_argument(
        "--update-key",
        default=None,
        metavar="PEMFILE",
        help="trust update images signed with this RSA key (public key, PEM); default: refuse all updates",
    )
    p.set_defaults(handler=run)


def _update_key(path: str | None) -> rsa.RSAPublicKey | None:
    # Imported here, like the server: only this subcommand needs the emulator.
    from hsmconsole.emulator.sysupdate import load_update_key

    if path is None:
        return None
    try:
        return load_update_key(Path(path).read_bytes())
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"Cannot read the update key {path}: {reason}.") from None
    except ValueError as exc:
        raise InputError(f"The update key {path} is {exc}.", "Give the RSA public key in PEM.") from None


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
    from hsmconsole.emulator.errors import ApiError
    from hsmconsole.emulator.server import EmbeddedEmulator, is_loopback

    host: str = args.host
    state_dir = Path(args.state_dir) if args.state_dir else None
    update_key = _update_key(args.update_key)
    if not is_loopback(host):
        _warn_exposed(host)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            emulator = EmbeddedEmulator(state_dir=state_dir, host=host, port=args.port, update_key=update_key)
        except OSError as exc:
            raise ConnectionFailed(
                f"Cannot open the state directory {state_dir}: {exc.strerror or type(exc).__name__}."
            ) from None
        emulator.start()
        print(f"NetHSM emulator: {emulator.url}", flush=True)
        print(f"TLS certificate SHA-256 fingerprint: {emulator.fingerprint}", flush=True)
        print(f"State: {'memory only' if state_dir is None else state_dir}. Stop with Ctrl-C.", flush=True)
        if update_key is not None:
            print(f"Update images signed with the key in {args.update_key} are trusted.", flush=True)
        # Wake up regularly: signals set the event, and a shutdown through the API ends the thread.
        while not stop.is_set() and not emulator.wait(timeout=0.2):
            pass
        saved = True
        try:
            if not emulator.powered_off:
                # Like pulling the plug after a clean shutdown: persist what the device keeps in RAM.
                emulator.hsm.shutdown()
        except ApiError:
            saved = False  # the disk refused the write (full, read-only): still stop cleanly
        finally:
            emulator.stop()
        if not saved:
            raise ConnectionFailed(
                "The emulator stopped, but could not save the key operation counters: "
                "its state directory could not be written.",
                "Free some space on that disk; everything acknowledged before is kept.",
            )
        if emulator.powered_off:
            print("The emulated device was shut down through the API.", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
