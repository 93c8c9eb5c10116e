"""The query layer: from a shopper's question to Solr's answer.

=====================  ======================================================================
``models``             what can be asked (``SearchRequest``, ``SimilarRequest``, ``Filter``) and
                       the answer (``SearchResponse``); validation errors as ``BadRequest``
``escape``             the one escaping function (``quote``) and the local-params rule
``schema``             the field allow-list read from the collection
``build``              pure ``build_params``: knn / vectorSimilarity / lookalike, filters as a
                       pre-filter, facets right across shards, text re-ranking, variants
``planner``            ``mode='auto'``: exact plugin or HNSW, by the filtered count
``client``             ``SearchService``: the I/O (example lookup, count, select, facets)
``embedder``           ``ImageEmbedder``: what photo search needs from the indexer
``cli``                ``lookalike similar`` and ``lookalike search``
``api``, ``static``    the HTTP API and the storefront page
=====================  ======================================================================
"""
