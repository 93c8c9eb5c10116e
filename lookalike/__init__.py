"""Lookalike: visual similarity search for product catalogs, built on Apache Solr.

The shared core: settings, the error tree, the Solr connection and the CLI entry point.
"""

__version__ = "0.1.0"
