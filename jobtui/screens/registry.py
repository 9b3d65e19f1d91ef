"""The screens of the dashboard, built on demand: the one module that imports them all.

The app holds a `Screens` (the `Navigator` of screens/base.py) and screens open one
another through it, so no screen imports another and tests can swap one in (a stand-in
wizard) by passing a subclass to `make_app`. A screen's module is imported when it is
first opened (the imports point down, from here to the screens): the first paint pays
for the job list only, not for the wizard and its forms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen

if TYPE_CHECKING:
    from jobtui.engine import Engine


class Screens:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def jobs(self) -> Screen[None]:
        from jobtui.screens.jobs import JobsScreen

        return JobsScreen(self.engine)

    def job_detail(self, job_id: int) -> Screen[None]:
        from jobtui.screens.job_detail import JobDetailScreen

        return JobDetailScreen(self.engine, job_id)

    def history(self, job_id: int | None, job_name: str | None = None) -> Screen[None]:
        from jobtui.screens.history import HistoryScreen

        return HistoryScreen(self.engine, job_id, job_name)

    def logs(self, run_id: int) -> Screen[None]:
        from jobtui.screens.logs import LogsScreen

        return LogsScreen(self.engine, run_id)

    def wizard(self, job_ref: str | None = None, duplicate: bool = False) -> Screen[str | None]:
        from jobtui.screens.wizard.screen import WizardScreen

        return WizardScreen(self.engine, job_ref, duplicate)

    def workspaces(self, current: str | None) -> Screen[str | None]:
        from jobtui.screens.workspaces import WorkspacesScreen

        return WorkspacesScreen(self.engine, current)

    def datasets(self) -> Screen[None]:
        from jobtui.screens.datasets import DatasetsScreen

        return DatasetsScreen(self.engine)

    def sink_presets(self) -> Screen[None]:
        from jobtui.screens.sink_presets import SinkPresetsScreen

        return SinkPresetsScreen(self.engine)

    def workers(self) -> Screen[None]:
        from jobtui.screens.workers import WorkersScreen

        return WorkersScreen(self.engine)

    def trash(self) -> Screen[None]:
        from jobtui.screens.trash import TrashScreen

        return TrashScreen(self.engine)

    def smtp(self) -> Screen[None]:
        from jobtui.screens.smtp import SmtpScreen

        return SmtpScreen(self.engine)


def screen_classes() -> list[type[Screen[Any]]]:
    """Every screen the navigator builds (for the keymap's list of binding ids)."""
    from jobtui.screens.datasets import DatasetsScreen
    from jobtui.screens.history import HistoryScreen
    from jobtui.screens.job_detail import JobDetailScreen
    from jobtui.screens.jobs import JobsScreen
    from jobtui.screens.logs import LogsScreen
    from jobtui.screens.sink_presets import SinkPresetsScreen
    from jobtui.screens.smtp import SmtpScreen
    from jobtui.screens.trash import TrashScreen
    from jobtui.screens.wizard.screen import WizardScreen
    from jobtui.screens.workers import WorkersScreen
    from jobtui.screens.workspaces import WorkspacesScreen

    return [
        JobsScreen,
        JobDetailScreen,
        HistoryScreen,
        LogsScreen,
        WizardScreen,
        WorkspacesScreen,
        DatasetsScreen,
        SinkPresetsScreen,
        WorkersScreen,
        TrashScreen,
        SmtpScreen,
    ]
