"""The Functions app's functions, indexed once (get_functions() may be called only once per FunctionApp), and how
tests deliver to them: a Service Bus message as the worker builds it, a function by name, a parked reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.servicebus import ServiceBusMessage

import function_app

FUNCTIONS = function_app.app.get_functions()


def sb_message(body: bytes, message_id: str) -> func.ServiceBusMessage:
    """The concrete message class the Python worker builds for a serviceBusTrigger."""
    return ServiceBusMessage(
        body=body, message_id=message_id, content_type="application/json", application_properties={},
        user_properties={}, delivery_count=1,
    )  # fmt: skip


def function_named(name: str) -> Any:
    return next(f for f in FUNCTIONS if f.get_function_name() == name).get_user_function()


def parked_reason(state: Path, queue: str, message_id: str) -> str:
    """Why the local host parked `message_id` from `queue` as poison (its .reason file)."""
    return (state / "runs" / "_poison" / queue / f"{message_id}.reason").read_text()
