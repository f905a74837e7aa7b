"""The promotion gates, one small module each: thresholds on logged metrics, no regression
against the alias holder, drift, and the productionized service's fidelity verdict."""
