"""A loopback TCP proxy that pulls the cable: it forwards bytes until a limit, then cuts or goes silent."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class CuttingProxy:
    """Listens on 127.0.0.1 and forwards each connection to `target` (TLS passes through untouched,
    so the pinned fingerprint is the target's). Once `up_limit` bytes went client->server or
    `down_limit` bytes went server->client, it acts: `mode="cut"` closes both sides at once;
    `mode="blackhole"` keeps forwarding upwards but drops every byte coming back, and once the
    target has started answering (or after `hold` seconds) closes everything: the device did the
    work; its answer never arrived. `mode="hang"` drops what comes back and never closes (a device
    that stopped answering mid-transfer) until the proxy is closed."""

    def __init__(
        self,
        target: tuple[str, int],
        *,
        up_limit: int | None = None,
        down_limit: int | None = None,
        mode: str = "cut",
        hold: float = 5.0,
    ) -> None:
        self.target = target
        self.up_limit, self.down_limit = up_limit, down_limit
        self.mode, self.hold = mode, hold
        self.up = self.down = 0
        self.tripped = threading.Event()
        self.answered = threading.Event()  # blackhole: the target answered after the trip
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _over(self) -> bool:
        return (self.up_limit is not None and self.up >= self.up_limit) or (
            self.down_limit is not None and self.down >= self.down_limit
        )

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        try:
            while not self._stop.is_set():
                data = src.recv(4096)
                if not data:
                    break
                if self.tripped.is_set() and self.mode in ("blackhole", "hang"):
                    if upward:
                        dst.sendall(data)
                    else:
                        self.answered.set()
                    continue
                budget = None
                if self.mode != "cut":
                    pass
                elif upward and self.up_limit is not None:
                    budget = self.up_limit - self.up
                if not upward and self.down_limit is not None:
                    budget = self.down_limit - self.down
                if budget is not None and budget < len(data):
                    data = data[: max(budget, 0)]
                if data:
                    dst.sendall(data)
                if upward:
                    self.up += len(data)
                else:
                    self.down += len(data)
                if self._over() and not self.tripped.is_set():
                    self.tripped.set()
                    if self.mode == "cut":
                        break
                    if self.mode == "blackhole":
                        threading.Thread(target=self._close_when_answered, daemon=True).start()
        except OSError:
            pass
        finally:
            if self.mode == "cut" or not self.tripped.is_set():
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                    s.close()

    def _close_when_answered(self) -> None:
        self.answered.wait(self.hold)
        self._close_all()

    def _close_all(self) -> None:
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv(); close() alone does not
            with contextlib.suppress(OSError):
                s.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._close_all()
        self._thread.join(timeout=2)

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
