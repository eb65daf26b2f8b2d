"""GR00T-Dreams IDM: embodiment kits and IDM input datasets from Cosmos outputs (formats.md 6)."""
