"""Rendering results: patches, findings (text, JSON, GitHub annotations) and summaries."""
