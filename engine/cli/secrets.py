"""placeholder registration; commands arrive with their modules."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
