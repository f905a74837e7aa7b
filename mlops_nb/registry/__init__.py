"""The model registry from the notebook: :func:`promote` (register, gates, alias move, decision
record, model card), and reading models, versions, alias history and cards.

Library first (:mod:`.api`, :mod:`.query`); ``mlops-nb promote`` / ``mlops-nb models``
(:mod:`.cli`), ``%mlops promote`` / ``%mlops card`` (:mod:`.magics`) and the panel's routes
(:mod:`mlops_nb.server.registry`) are thin adapters. Importing this package imports no MLflow.
"""
