"""Productionize: notebook to training script, FastAPI service and Docker image."""
