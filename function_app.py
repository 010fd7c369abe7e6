"""Composition root of the Azure Functions app: telemetry, then one Blueprint per row of the stage table.

Each stage's trigger module is functions/<stage name>.py; a missing one fails the import loudly (no try/except:
a swallowed ImportError becomes "0 functions found" in Azure).
"""

from __future__ import annotations

import importlib

import azure.functions as func

from shared.bootstrap import configure_telemetry
from shared.stages import STAGES

configure_telemetry()

app = func.FunctionApp()
for row in STAGES:
    app.register_functions(importlib.import_module(f"functions.{row.name}").bp)
