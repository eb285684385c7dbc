"""Seed data of the Cleo emulator: the mailbox layout (mailbox.yaml) and the inbound X12 files."""
