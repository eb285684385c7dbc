"""Seed data of the Business Central emulator (the demo world of docs/demo-world.md), as JSON."""
