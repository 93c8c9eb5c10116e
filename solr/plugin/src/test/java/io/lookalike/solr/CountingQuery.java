package io.lookalike.solr;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.TwoPhaseIterator;
import org.apache.lucene.search.Weight;

/**
 * Test wrapper: delegates to a query and counts the calls to its scorers' {@code matches()}, and
 * the documents each was called on, so a test can prove which documents got verified.
 */
final class CountingQuery extends Query {
  final Query in;
  final AtomicInteger matchesCalls = new AtomicInteger();
  final java.util.Set<Integer> verifiedDocs = java.util.concurrent.ConcurrentHashMap.newKeySet();

  CountingQuery(Query in) {
    this.in = in;
  }

  @Override
  public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost)
      throws IOException {
    Weight inner = in.createWeight(searcher, scoreMode, boost);
    return new Weight(this) {
      @Override
      public Scorer scorer(LeafReaderContext context) throws IOException {
        Scorer scorer = inner.scorer(context);
        return scorer == null ? null : new CountingScorer(this, scorer, context.docBase);
      }

      @Override
      public Explanation explain(LeafReaderContext context, int doc) throws IOException {
        return inner.explain(context, doc);
      }

      @Override
      public boolean isCacheable(LeafReaderContext context) {
        return false;
      }
    };
  }

  private final class CountingScorer extends Scorer {
    private final Scorer in;
    private final TwoPhaseIterator twoPhase;

    CountingScorer(Weight weight, Scorer in, int docBase) {
      super(weight);
      this.in = in;
      TwoPhaseIterator inner = in.twoPhaseIterator();
      this.twoPhase =
          inner == null
              ? null
              : new TwoPhaseIterator(inner.approximation()) {
                @Override
                public boolean matches() throws IOException {
                  matchesCalls.incrementAndGet();
                  verifiedDocs.add(docBase + approximation.docID());
                  return inner.matches();
                }

                @Override
                public float matchCost() {
                  return inner.matchCost();
                }
              };
    }

    @Override
    public DocIdSetIterator iterator() {
      return twoPhase == null ? in.iterator() : TwoPhaseIterator.asDocIdSetIterator(twoPhase);
    }

    @Override
    public TwoPhaseIterator twoPhaseIterator() {
      return twoPhase;
    }

    @Override
    public int docID() {
      return in.docID();
    }

    @Override
    public float score() throws IOException {
      return in.score();
    }

    @Override
    public float getMaxScore(int upTo) throws IOException {
      return in.getMaxScore(upTo);
    }
  }

  @Override
  public void visit(QueryVisitor visitor) {
    in.visit(visitor);
  }

  @Override
  public String toString(String field) {
    return "counting(" + in.toString(field) + ")";
  }

  @Override
  public boolean equals(Object other) {
    return this == other; // each wrapper counts for itself
  }

  @Override
  public int hashCode() {
    return System.identityHashCode(this);
  }
}
