"""Tracking: one notebook cell becomes one MLflow run."""
