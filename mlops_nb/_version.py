"""The one version source of mlops-nb (``extension/package.json`` must agree; a test checks it)."""

__version__ = "0.1.0"
