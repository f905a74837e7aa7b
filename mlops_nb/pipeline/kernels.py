"""Kernels that can start many at a time without colliding (papermill issue #511).

jupyter_client picks TCP ports by binding port 0 and releasing it before the kernel binds it, so
kernels started at the same moment (parallel steps, sweep trials) can race for a port and die
with "Address already in use". Kernels started here use the ``ipc`` transport (Unix sockets) in
a private directory per kernel, which has no shared namespace to race in; the environment the
runner needs (notebook path, parent run, parameters, tracking URI) is passed to that kernel only,
so concurrent executions in one process do not see each other's variables.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from jupyter_client.manager import AsyncKernelManager


class IsolatedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` on the ipc transport with a per-kernel socket directory."""

    extra_env: Mapping[str, str] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # short path: Unix socket paths are limited to ~100 bytes
        self._socket_dir = tempfile.mkdtemp(prefix="mnb-", dir=_socket_root())
        self.transport = "ipc"
        self.ip = os.path.join(self._socket_dir, "k")

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        env = dict(kw.pop("env", None) or os.environ)
        env.update(self.extra_env)
        kw["env"] = env
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _socket_root() -> str:
    root = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
    return root


def manager_class(env: Mapping[str, str]) -> type[IsolatedKernelManager]:
    """A kernel manager class whose kernels get ``env`` on top of this process's environment."""
    return type("MlopsNbKernelManager", (IsolatedKernelManager,), {"extra_env": dict(env)})
