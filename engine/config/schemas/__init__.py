"""The JSON Schemas (draft 2020-12) of the project files, shipped as package data.

`engine.config.schema` loads them; `mlc schema KIND` prints them; YAML files name them in a
`# yaml-language-server: $schema=` first line so editors complete and check them.
"""
