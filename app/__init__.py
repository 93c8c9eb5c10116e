"""The composition root: where the layers are assembled into the programs people run.

Everything else points down (``lookalike/`` at the bottom, then ``indexer/``, ``query/``,
``merch/``); only this package may import them all, and nothing imports it. The web app is
:func:`app.web.create_app`; ``lookalike serve`` is :mod:`app.serve_cli`.
"""
