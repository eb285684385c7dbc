"""Seed data of the GP emulator (company TWO, "Fabrikam, Inc."), per docs/demo-world.md."""
