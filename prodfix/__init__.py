"""prodfix: codemods that make Python backends production-ready."""

__version__ = "0.1.0"
