"""Helpers shared by several codemods."""
