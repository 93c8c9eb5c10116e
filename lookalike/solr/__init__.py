"""Solr for Lookalike: a JDK, local nodes from the Maven runtime, and SolrCloud administration.

* :mod:`lookalike.solr.java`: find the newest usable JDK and its JVM flags;
* :mod:`lookalike.solr.node`: one node as a process (files, command line, health, stop);
* :mod:`lookalike.solr.cluster`: ``start`` / ``stop`` / ``status`` of a local cloud;
* :mod:`lookalike.solr.cloud`: configsets, collections (each with its own vector width), aliases;
* :mod:`lookalike.solr.cli`: ``lookalike solr start|stop|status``.
"""
