"""The notebook kernel of ``billing run``: ipykernel as ``python -m ipykernel_launcher`` starts it,
but without its debugger.

At start ipykernel imports debugpy for the debugger JupyterLab offers, about a third of a bare
kernel's CPU (0.15 of 0.5 CPU-s); a headless run never attaches a debugger. With the import of
``debugpy`` refused (``ImportError``, as where debugpy is not installed) ipykernel starts without
it. Kernels started from JupyterLab or nbval are not affected: only ``headless.execute`` launches
this module (``headless.kernel_command``).

ipykernel 7 warns at every start that the kernel "is running over TCP without encryption ...
susceptible to eavesdropping". That is about kernels reached over a network; this one listens on
127.0.0.1 only, for the ``billing run`` that started it, with every message signed by the key of
its connection file (readable by its user only). And jupyter_client interrupts a kernel before
shutting it down, so a run that went through may end with "ERROR | KeyboardInterrupt caught in
kernel." when the interrupt meets a message being handled (seen under load). Printed after a good
run, both read as a fault to the analyst, so the kernel drops those two (``HeadlessNoise``);
every other message still shows (an interrupted ``billing run`` says so itself).
"""

import logging
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType


class NoDebugger:
    """A meta path finder refusing ``debugpy`` and its submodules."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name == "debugpy" or name.startswith("debugpy."):
            raise ImportError(f"{name}: no debugger in the kernel of a headless run", name=name)
        return None


#: The starts of the kernel's log messages a headless run drops (module docstring).
NOISE = ("Kernel is running over TCP without encryption", "KeyboardInterrupt caught in kernel")


class HeadlessNoise(logging.Filter):
    """Drops ipykernel's transport warning and its shutdown interrupt (module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(NOISE)


if __name__ == "__main__":
    # as ipykernel_launcher: the kernel's folder leaves sys.path while ipykernel loads (its
    # InteractiveShellApp puts it back)
    if sys.path[0] == "" or Path(sys.path[0]) == Path.cwd():
        del sys.path[0]
    sys.meta_path.insert(0, NoDebugger())
    from ipykernel import kernelapp

    kernelapp.IPKernelApp.instance().log.addFilter(HeadlessNoise())
    kernelapp.launch_new_instance()
