package io.lookalike.solr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TopDocs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sorted search that returns scores rewrites its query twice (the search, then {@code
 * TopFieldCollector.populateScores}), as Solr does under {@code sort=score desc,id asc}; the
 * wrapper makes the second rewrite (for kNN: the second graph search) free.
 */
class SearchedOnceTest {
  private static TestIndex index;
  private static final Sort SCORE_THEN_DOC = new Sort(SortField.FIELD_SCORE, SortField.FIELD_DOC);

  @BeforeAll
  static void build() throws IOException {
    index = new TestIndex(VectorSimilarityFunction.COSINE, false);
  }

  @AfterAll
  static void close() throws IOException {
    index.close();
  }

  /** Counts how often it is rewritten (for kNN: how often the graph is searched). */
  private static final class CountingRewrite extends Query {
    final Query in;
    final AtomicInteger rewrites = new AtomicInteger();

    CountingRewrite(Query in) {
      this.in = in;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
      rewrites.incrementAndGet();
      return searcher.rewrite(in);
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
      return this == other;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(this);
    }
  }

  private static KnnFloatVectorQuery knn() {
    return new KnnFloatVectorQuery(TestIndex.FIELD, index.docs.get(1).vector(), 20);
  }

  @Test
  void aSortedSearchWithScoresRewritesThePlainQueryTwiceAndTheWrappedOnce() throws IOException {
    CountingRewrite plain = new CountingRewrite(knn());
    TopDocs expected = index.searcher.search(plain, 10, SCORE_THEN_DOC, true);
    assertEquals(2, plain.rewrites.get(), "the search and populateScores each rewrite");

    CountingRewrite inner = new CountingRewrite(knn());
    TopDocs once = index.searcher.search(new SearchedOnce(inner), 10, SCORE_THEN_DOC, true);
    assertEquals(1, inner.rewrites.get());
    assertArrayEquals(docs(expected), docs(once));
    assertArrayEquals(scores(expected), scores(once));
  }

  @Test
  void anotherReaderIsSearchedAgain() throws IOException {
    CountingRewrite inner = new CountingRewrite(knn());
    SearchedOnce query = new SearchedOnce(inner);
    index.searcher.search(query, 10, SCORE_THEN_DOC, true);
    try (DirectoryReader other = DirectoryReader.open(index.directory)) {
      TopDocs there = new IndexSearcher(other).search(query, 10, SCORE_THEN_DOC, true);
      assertEquals(2, inner.rewrites.get(), "a new reader is a new search");
      assertEquals(10, there.scoreDocs.length);
    }
    index.searcher.search(query, 10);
    assertEquals(3, inner.rewrites.get(), "only the latest reader's rewrite is kept");
  }

  @Test
  void identityIsTheWrappedQuerys() {
    assertEquals(new SearchedOnce(knn()), new SearchedOnce(knn()));
    assertEquals(new SearchedOnce(knn()).hashCode(), new SearchedOnce(knn()).hashCode());
    assertNotEquals(
        new SearchedOnce(knn()),
        new SearchedOnce(new KnnFloatVectorQuery(TestIndex.FIELD, index.docs.get(2).vector(), 20)));
    assertNotEquals(new SearchedOnce(knn()), knn());
    assertEquals(knn().toString("x"), new SearchedOnce(knn()).toString("x"));
  }

  private static int[] docs(TopDocs top) {
    return Arrays.stream(top.scoreDocs).mapToInt(d -> d.doc).toArray();
  }

  private static float[] scores(TopDocs top) {
    float[] out = new float[top.scoreDocs.length];
    for (int i = 0; i < out.length; i++) {
      ScoreDoc d = top.scoreDocs[i];
      out[i] = d.score;
    }
    return out;
  }
}
