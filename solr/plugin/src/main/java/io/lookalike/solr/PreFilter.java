package io.lookalike.solr;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;
import org.apache.solr.search.DocSet;
import org.apache.solr.search.SolrIndexSearcher;

/**
 * The documents of an {@link ExactVectorSimilarityQuery}'s own pre-filter, per segment. On Solr's
 * searcher they are the intersection of the filters' cached DocSets (the same the {@code fq}'s
 * use, so nothing is computed twice); on a plain Lucene searcher, a conjunction of the filters.
 */
abstract class PreFilter {
  /** This segment's documents in the filter, ascending, or null when there are none. */
  abstract DocIdSetIterator iterator(LeafReaderContext context) throws IOException;

  /** How many documents pass, over every segment, or -1 when only iterating can tell. */
  long count() {
    return -1;
  }

  /** Whether {@code doc} (of the segment) is in the filter, for explain. */
  boolean matches(LeafReaderContext context, int doc) throws IOException {
    DocIdSetIterator it = iterator(context);
    return it != null && it.advance(doc) == doc;
  }

  /** The filter of {@code filters} on {@code searcher}, or null when there are none. */
  static PreFilter of(IndexSearcher searcher, List<Query> filters) throws IOException {
    if (filters.isEmpty()) {
      return null;
    }
    if (searcher instanceof SolrIndexSearcher solr) {
      DocSet set = solr.getDocSet(filters);
      return new PreFilter() {
        @Override
        DocIdSetIterator iterator(LeafReaderContext context) {
          return set.iterator(context);
        }

        @Override
        long count() {
          return set.size();
        }
      };
    }
    BooleanQuery.Builder all = new BooleanQuery.Builder();
    filters.forEach(f -> all.add(f, BooleanClause.Occur.FILTER));
    Weight weight =
        searcher.createWeight(searcher.rewrite(all.build()), ScoreMode.COMPLETE_NO_SCORES, 1f);
    return new PreFilter() {
      @Override
      DocIdSetIterator iterator(LeafReaderContext context) throws IOException {
        Scorer scorer = weight.scorer(context);
        return scorer == null ? null : scorer.iterator();
      }
    };
  }
}
