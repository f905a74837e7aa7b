"""Pipelines: papermill-executed notebooks as cached DAG steps, local or on Dask."""
