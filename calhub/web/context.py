"""The hub and the runtime of the app serving the current request, for every blueprint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from calhub.hub import Hub
    from calhub.runtime import Runtime


def current_hub() -> Hub:
    hub: Hub = current_app.extensions["calhub"]
    return hub


def current_runtime() -> Runtime:
    """The app's runtime: the stores and engine every page reads through."""
    runtime: Runtime = current_app.extensions["calhub_runtime"]
    return runtime
