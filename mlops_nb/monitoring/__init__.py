"""Drift monitoring with Evidently, inline in the notebook and against running services."""
