"""Retrieval quality: hard development sets (:mod:`quality.devsets`), the metrics
(:mod:`quality.metrics`, pure) and the harness that measures an index through the real
index and query path (:mod:`quality.harness`)."""
