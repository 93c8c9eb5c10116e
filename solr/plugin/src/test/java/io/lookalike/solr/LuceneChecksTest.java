package io.lookalike.solr;

import static io.lookalike.solr.ExactVectorSimilarityQuery.NO_THRESHOLD;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.tests.search.CheckHits;
import org.apache.lucene.tests.search.QueryUtils;
import org.apache.lucene.tests.util.LuceneTestCase;

/**
 * The checks Lucene runs on its own queries, run on ours (a {@link LuceneTestCase}, so they get
 * its randomized searchers and codecs): {@link QueryUtils#check(Query)} (equals and hashCode
 * stable, consistent, unequal to other queries); advancing fresh scorers and two-phase iterators
 * to every document gives the hits and scores of a full scan ({@link QueryUtils#checkFirstSkipTo},
 * {@link QueryUtils#checkSkipTo}), the bulk scorer can skip ({@link
 * QueryUtils#checkBulkScorerSkipTo}), {@link QueryUtils#checkCount} and {@link
 * CheckHits#checkMatches} agree with the hits; and {@link CheckHits#checkExplanations} (every
 * hit's explanation has exactly its score and says it matched) - alone and inside a BooleanQuery
 * with a filter, on several segments with documents without a vector.
 *
 * <p>Two things are left out, on purpose. The advance checks run on an index without deleted
 * documents: a fresh scorer may stop on a deleted one (collectors skip it), which they count as a
 * wrong hit for any query. And {@code QueryUtils.check(random, query, searcher)} as a whole is not
 * used: its explanation check is the deep one, which wants a description ending in "computed as
 * ... from:" whenever the details are not the score's own parts; ours are the parts of the
 * similarity (the cosines), the score is (1 + similarity) / 2, and the description ends with how
 * the vectors were read - the shape today's explain tests, in Java and through Solr, pin down.
 */
public class LuceneChecksTest extends LuceneTestCase {

  private static List<Query> queries(TestIndex index) {
    float[][] one = {index.vectorOf("doc1")};
    float[][] two = {index.vectorOf("doc2"), index.vectorOf("doc30")};
    float[][] neg = {index.vectorOf("doc9")};
    String f = TestIndex.FIELD;
    Query exact = new ExactVectorSimilarityQuery(f, one, null, Combine.MEAN, 1f, NO_THRESHOLD, false);
    Query threshold = new ExactVectorSimilarityQuery(f, one, null, Combine.MEAN, 1f, 0.2f, false);
    Query mean = new ExactVectorSimilarityQuery(f, two, neg, Combine.MEAN, 0.5f, 0.1f, false);
    Query max = new ExactVectorSimilarityQuery(f, two, neg, Combine.MAX, 1f, NO_THRESHOLD, false);
    Query filtered =
        new BooleanQuery.Builder()
            .add(new TermQuery(new Term("color", "red")), Occur.FILTER)
            .add(threshold, Occur.MUST)
            .build();
    return List.of(exact, threshold, mean, max, filtered);
  }

  private static TestIndex index(boolean deletions) throws IOException {
    return new TestIndex(
        VectorSimilarityFunction.COSINE, false, new ByteBuffersDirectory(), TestIndex.DIMS, false, deletions);
  }

  public void testEqualsAndHashCode() throws IOException {
    try (TestIndex index = index(true)) {
      List<Query> queries = queries(index);
      for (Query q : queries) {
        QueryUtils.check(q);
      }
      for (int i = 0; i < queries.size(); i++) {
        for (int j = i + 1; j < queries.size(); j++) {
          QueryUtils.checkUnequal(queries.get(i), queries.get(j));
        }
      }
    }
  }

  public void testScorersAdvanceSkipAndCount() throws IOException {
    try (TestIndex index = index(false)) {
      IndexSearcher searcher = newSearcher(index.reader);
      for (Query q : queries(index)) {
        QueryUtils.checkFirstSkipTo(q, searcher);
        QueryUtils.checkSkipTo(q, searcher);
        QueryUtils.checkBulkScorerSkipTo(random(), q, searcher);
        QueryUtils.checkCount(q, searcher);
        CheckHits.checkMatches(q, searcher);
      }
    }
  }

  public void testExplanationsHaveTheScores() throws IOException {
    for (boolean deletions : new boolean[] {false, true}) {
      try (TestIndex index = index(deletions)) {
        for (Query q : queries(index)) {
          CheckHits.checkExplanations(q, TestIndex.FIELD, newSearcher(index.reader));
          CheckHits.checkExplanations(q, TestIndex.FIELD, index.searcher);
        }
      }
    }
  }
}
