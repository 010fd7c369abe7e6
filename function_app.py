"""Composition root of the Azure Functions app: telemetry, then one Blueprint per stage. Nothing else."""

from __future__ import annotations

import azure.functions as func

from functions import import_chunk, password_submit, plan_export, track_run
from shared.observability import configure_azure_monitor

configure_azure_monitor()

app = func.FunctionApp()
for blueprint in (plan_export.bp, import_chunk.bp, track_run.bp, password_submit.bp):
    app.register_functions(blueprint)
