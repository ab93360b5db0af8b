"""A TCP proxy that can fail on command: the network between an app and its database."""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import typing as t

Mode = t.Literal["pass", "reset", "stall"]
MODES: tuple[Mode, ...] = ("pass", "reset", "stall")

# How often a connection's thread looks at the mode while its sockets are quiet.
_TICK = 0.05
_CHUNK = 65536


def _abort(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN: what a crashed server or a firewall sends."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # already gone
    sock.close()


class FaultProxy:
    """Forward TCP connections from ``127.0.0.1:<port>`` to ``target``, or fail them.

    Modes, switchable at any time with :attr:`mode`:

    ``"pass"``
        forward both ways.
    ``"reset"``
        close every connection, open ones at once and new ones on accept, with a TCP RST.
    ``"stall"``
        accept connections and keep them open, but forward nothing either way (what a
        hung server looks like: the kernel still acknowledges every byte). Data held back
        flows again once the mode is ``"pass"``.

    Real sockets and threads: one thread accepts, one serves each connection.

    :param target: ``(host, port)`` to forward to.
    :param host: the address to listen on.
    """

    def __init__(self, target: tuple[str, int], *, host: str = "127.0.0.1") -> None:
        self.target = target
        self._mode: Mode = "pass"
        self._changed = threading.Condition()
        self._closed = False
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(_TICK)
        self.host, self.port = self._listener.getsockname()[:2]
        self._threads: list[threading.Thread] = []
        self.accepted = 0
        """How many connections were accepted, in any mode."""
        self._start(self._accept_loop)

    def __repr__(self) -> str:
        return (
            f"<FaultProxy {self.host}:{self.port} -> {self.target[0]}:{self.target[1]} {self.mode}>"
        )

    @property
    def mode(self) -> Mode:
        """``"pass"``, ``"reset"`` or ``"stall"``; setting it acts on open connections too."""
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        with self._changed:
            self._mode = mode
            self._changed.notify_all()

    def close(self) -> None:
        """Stop listening, abort every connection and wait for the threads to end."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- threads ------------------------------------------------------------------------

    def _start(self, target: t.Callable[..., None], *args: t.Any) -> None:
        thread = threading.Thread(
            target=target, args=args, daemon=True, name=f"fault-proxy:{self.port}"
        )
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self._mode == "reset":
                _abort(client)
                continue
            self._start(self._serve, client)

    def _wait_while_stalled(self) -> bool:
        """Block while the mode is "stall"; whether the connection may go on."""
        with self._changed:
            while self._mode == "stall" and not self._closed:
                self._changed.wait()
            return self._mode == "pass" and not self._closed

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            if not self._wait_while_stalled():
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                return  # the target is down: the client sees its connection reset
            self._pump(client, upstream)
        finally:
            _abort(client)
            if upstream is not None:
                _abort(upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                sock.setblocking(True)
                selector.register(sock, selectors.EVENT_READ)
            while True:
                if self._closed or (self._mode != "pass" and not self._wait_while_stalled()):
                    return  # reset, or the proxy closed
                for key, _ in selector.select(_TICK):
                    if self._mode != "pass":
                        break  # hold the data back (stall) or drop it (reset)
                    sock = t.cast(socket.socket, key.fileobj)
                    try:
                        data = sock.recv(_CHUNK)
                        if not data:
                            return  # one side closed: close the other
                        peers[sock].sendall(data)
                    except OSError:
                        return
