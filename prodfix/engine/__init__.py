"""The engine: discovery, the per-file pipeline, the parallel runner and safe writes."""
