"""The query layer: from a shopper's question to Solr's answer.

=====================  ======================================================================
``models``             what can be asked (``SearchRequest``, ``SimilarRequest``, ``Filter``) and
                       the answer (``SearchResponse``); validation errors as ``BadRequest``
``filters``            the one filter grammar (``parse_filters``) and a filter's ``fq``
``schema``             the field allow-list read from the collection
``build``              pure ``build_params``: knn / vectorSimilarity / lookalike, filters as a
                       pre-filter, facets right across shards, text re-ranking, variants
                       (Solr syntax and escaping: ``lookalike.solr_syntax``)
``multi_image``        several images per product: one clause per (image field, query vector)
                       under ``{!maxscore}``, and which image matched (pure)
``planner``            ``mode='auto'``: exact plugin or HNSW, by the filtered count
``client``             ``SearchService``: the I/O (example lookup, count, select, facets)
``embedder``           ``ImageEmbedder``: what photo search needs from the indexer (handed in)
``explain``            why two products look alike: the answer, shared values, occlusion
                       heat-maps (pure); ``explain_service``: the I/O, the budget, the cache
``live_index``         the alias's live index record, cached
``cli``                ``lookalike similar`` and ``lookalike search``
``http``, ``static``   the HTTP routes and the storefront page (assembled in ``app.web``)
=====================  ======================================================================
"""
