"""Automations defined in files, applied idempotently: created once, updated after that."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect import get_client
from prefect.events.schemas.automations import AutomationCore

from coursekit import config, console


def apply(relative_path: str) -> str:
    """Create or update the automation in a YAML file (the format of `prefect automation create --from-file`)."""
    path = config.REPO_ROOT / relative_path
    automation = AutomationCore.model_validate(yaml.safe_load(Path(path).read_text()))
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(automation.name)
        if existing:
            client.update_automation(existing[0].id, automation)
            for duplicate in existing[1:]:  # e.g. left by running `prefect automation create` twice
                client.delete_automation(duplicate.id)
            console.ok(f"Automation {automation.name!r} is up to date ({relative_path})")
        else:
            client.create_automation(automation)
            console.ok(f"Created automation {automation.name!r} from {relative_path}")
    return automation.name


def delete(name: str) -> int:
    """Delete every automation called `name`; return how many there were."""
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(name)
        for automation in existing:
            client.delete_automation(automation.id)
    return len(existing)
