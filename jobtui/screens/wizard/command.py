"""The Command step of a `command` job (instead of datasets, generator and sinks)."""

from __future__ import annotations

from typing import Any

from jobtui.engine import CommandSpec
from jobtui.screens.wizard.base import Scroll
from jobtui.screens.wizard.collect import FormValues
from jobtui.widgets.forms import ModelForm


class CommandStep(Scroll):
    async def build(self, command: dict[str, Any]) -> None:
        self.form = ModelForm(
            CommandSpec,
            "command",
            command,
            words=("argv",),
            labels={
                "argv": "command line",
                "cwd": "working dir",
                "shell": "run in a shell",
                "output": "stdout/stderr",
                "inherit_env": "inherit env",
            },
            id="form-command",
        )
        self.form.border_title = "Command"
        self.form.add_class("form-section")
        await self.mount(self.form)

    def fill(self, values: FormValues) -> None:
        values.command = self.form.value()
