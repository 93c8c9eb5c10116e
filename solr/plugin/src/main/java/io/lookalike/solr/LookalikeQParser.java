package io.lookalike.solr;

import org.apache.lucene.search.Query;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;

/** Parses and validates {@code {!lookalike ...}}. Work in progress: see issue 5. */
public class LookalikeQParser extends QParser {

  public LookalikeQParser(
      String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    super(qstr, localParams, params, req);
  }

  @Override
  public Query parse() {
    throw new SolrException(
        SolrException.ErrorCode.BAD_REQUEST, "{!lookalike} is registered but not implemented yet");
  }
}
