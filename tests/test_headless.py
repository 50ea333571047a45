"""The kernel command of a headless run (``billing run``): ipykernel without its debugger when the
kernel runs in this Python; any other kernel command as the kernel spec gives it. (That kernel
runs the notebook in every ``billing run`` of tests/test_billing_run_command.py and
tests/test_bad_inputs_run.py.)"""

from __future__ import annotations

import sys

from billing_lib.headless import HEADLESS_KERNEL, kernel_command

SPEC = [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "/tmp/k.json"]


def test_the_ipykernel_of_this_python_starts_without_its_debugger():
    assert kernel_command(SPEC) == [
        sys.executable,
        "-Xfrozen_modules=off",
        "-m",
        "billing_lib.headless_ipykernel",
        "-f",
        "/tmp/k.json",
    ]
    assert HEADLESS_KERNEL == "billing_lib.headless_ipykernel"


def test_a_kernel_of_another_python_or_launcher_is_started_as_its_spec_says():
    other_python = ["/opt/other/bin/python", *SPEC[1:]]
    other_launcher = [sys.executable, "-m", "my_kernel", "-f", "/tmp/k.json"]
    for cmd in (other_python, other_launcher, []):
        assert kernel_command(cmd) == cmd
