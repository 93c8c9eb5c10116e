"""Merchandising on top of the similarity index (issue 7).

Pure algorithms (no I/O): :mod:`merch.vectors` (normalising, example scoring and reasons),
:mod:`merch.kmeans` (clustering, the rule that picks k, medoids), :mod:`merch.mmr` (maximal
marginal relevance), :mod:`merch.provenance` (who set a field, what a batch writes and how undo
restores it). Solr-facing pieces: :mod:`merch.catalog` (reading vectors and docs, atomic updates),
:mod:`merch.store` (records in the metadata collection), :mod:`merch.clusters`,
:mod:`merch.propagation`, :mod:`merch.gaps`, :mod:`merch.navigation`. Interfaces:
:mod:`merch.cli` and :mod:`merch.api`.
"""
