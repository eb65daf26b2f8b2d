"""Inputs for Cosmos-Predict 2.5: post-training sets and batch inference files (formats.md 5)."""
