package io.lookalike.solr;

import static io.lookalike.solr.ExactVectorSimilarityQuery.NO_THRESHOLD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ExactVectorSimilarityQueryTest {
  private static final double EPS = 1e-5;
  private static TestIndex index;

  @BeforeAll
  static void buildIndex() throws IOException {
    index = new TestIndex(VectorSimilarityFunction.COSINE, false);
  }

  @AfterAll
  static void closeIndex() throws IOException {
    index.close();
  }

  private static ExactVectorSimilarityQuery query(
      float[][] likes, float[][] unlikes, Combine combine, float weight, float min) {
    return new ExactVectorSimilarityQuery(
        TestIndex.FIELD, likes, unlikes, combine, weight, min, false);
  }

  private static float[][] vectors(String... ids) {
    float[][] out = new float[ids.length][];
    for (int i = 0; i < ids.length; i++) {
      out[i] = index.vectorOf(ids[i]);
    }
    return out;
  }

  /**
   * Runs the query for all hits and checks them against brute force: the same set of documents,
   * each scored (1 + its similarity) / 2, and ranks in score order. Documents whose similarities
   * differ by less than rounding may come in either order, so order is checked through the scores.
   */
  private static void assertSameAsBruteForce(Query query, List<TestIndex.Expected> expected)
      throws IOException {
    TopDocs top = index.searcher.search(query, TestIndex.DOCS);
    assertEquals(expected.size(), top.totalHits.value, "number of hits");
    java.util.Map<String, Double> wantById = new java.util.HashMap<>();
    expected.forEach(e -> wantById.put(e.id(), e.similarity()));
    for (int rank = 0; rank < expected.size(); rank++) {
      ScoreDoc hit = top.scoreDocs[rank];
      String id = index.idOf(hit.doc);
      assertTrue(wantById.containsKey(id), id + " should not match");
      assertEquals(scoreOf(wantById.get(id)), hit.score, EPS, "score of " + id);
      assertEquals(scoreOf(expected.get(rank).similarity()), hit.score, EPS, "score at rank " + rank);
    }
  }

  private static double scoreOf(double similarity) {
    return Math.max(0, (1 + similarity) / 2);
  }

  private static List<TestIndex.Expected> atLeast(List<TestIndex.Expected> all, double min) {
    return all.stream().filter(e -> e.similarity() >= min).collect(Collectors.toList());
  }

  @Test
  void inlineTargetRanksEveryLiveVectorExactlyLikeBruteForce() throws IOException {
    float[] target = {1f, -2f, 0.5f, 3f, 0f, 0f, -1f, 2f};
    var expected =
        index.bruteForce(new BruteForce(new float[][] {target}, new float[0][], Combine.MEAN, 0), null);
    assertEquals(
        index.docs.stream().filter(d -> d.live() && d.vector() != null).count(), expected.size());
    assertSameAsBruteForce(query(new float[][] {target}, null, Combine.MEAN, 1f, NO_THRESHOLD), expected);
  }

  @Test
  void thresholdKeepsExactlyTheDocumentsAtOrAboveIt() throws IOException {
    float[][] likes = vectors("doc10");
    var all = index.bruteForce(new BruteForce(likes, new float[0][], Combine.MEAN, 0), null);
    float min = 0.35f;
    var expected = atLeast(all, min);
    assertTrue(expected.size() > 10 && expected.size() < all.size() / 2, "a selective threshold");
    // no document sits within rounding distance of the threshold, so the set is well defined
    assertTrue(all.stream().noneMatch(e -> Math.abs(e.similarity() - min) < 1e-5));
    assertSameAsBruteForce(query(likes, null, Combine.MEAN, 1f, min), expected);
    assertEquals(expected.size(), index.searcher.count(query(likes, null, Combine.MEAN, 1f, min)));
  }

  @Test
  void meanOfSeveralExamplesMatchesBruteForce() throws IOException {
    float[][] likes = vectors("doc1", "doc2", "doc30");
    var expected = atLeast(index.bruteForce(new BruteForce(likes, new float[0][], Combine.MEAN, 0), null), 0.2);
    assertSameAsBruteForce(query(likes, null, Combine.MEAN, 1f, 0.2f), expected);
  }

  @Test
  void maxOverExamplesMatchesBruteForce() throws IOException {
    float[][] likes = vectors("doc1", "doc2", "doc30");
    var expected = atLeast(index.bruteForce(new BruteForce(likes, new float[0][], Combine.MAX, 0), null), 0.4);
    assertSameAsBruteForce(query(likes, null, Combine.MAX, 1f, 0.4f), expected);
  }

  @Test
  void negativesSubtractTheirWeightedBestSimilarity() throws IOException {
    float[][] likes = vectors("doc1", "doc2");
    float[][] unlikes = vectors("doc8", "doc9");
    for (Combine combine : Combine.values()) {
      var expected = index.bruteForce(new BruteForce(likes, unlikes, combine, 0.5), null);
      assertSameAsBruteForce(query(likes, unlikes, combine, 0.5f, NO_THRESHOLD), expected);
      var thresholded = atLeast(expected, 0.1);
      assertSameAsBruteForce(query(likes, unlikes, combine, 0.5f, 0.1f), thresholded);
      // a heavy weight pushes some below -1, where the score floors at 0: they still match
      var heavy = index.bruteForce(new BruteForce(likes, unlikes, combine, 1.5), null);
      assertTrue(heavy.stream().anyMatch(e -> e.similarity() < -1), "some reach the floor");
      assertSameAsBruteForce(query(likes, unlikes, combine, 1.5f, NO_THRESHOLD), heavy);
    }
  }

  @Test
  void unitVectorFieldsNeedNoNormalisationAndGiveTheSameAnswer() throws IOException {
    try (TestIndex unit = new TestIndex(VectorSimilarityFunction.DOT_PRODUCT, true)) {
      float[][] likes = {unit.vectorOf("doc3"), unit.vectorOf("doc6")};
      var expected = unit.bruteForce(new BruteForce(likes, new float[0][], Combine.MAX, 0), null);
      Query q =
          new ExactVectorSimilarityQuery(TestIndex.FIELD, likes, null, Combine.MAX, 1f, 0.3f, true);
      TopDocs top = unit.searcher.search(q, TestIndex.DOCS);
      var want = atLeast(expected, 0.3);
      assertEquals(want.size(), top.totalHits.value);
      for (int i = 0; i < want.size(); i++) {
        assertEquals(want.get(i).id(), unit.idOf(top.scoreDocs[i].doc));
      }
    }
  }

  @Test
  void deletedDocumentsAndDocumentsWithoutVectorNeverMatch() throws IOException {
    float[] target = index.vectorOf("doc4"); // doc4 is deleted (4 % 11 == 4)
    TopDocs top =
        index.searcher.search(query(new float[][] {target}, null, Combine.MEAN, 1f, -1f), TestIndex.DOCS);
    Set<String> ids = new HashSet<>();
    for (ScoreDoc hit : top.scoreDocs) {
      ids.add(index.idOf(hit.doc));
    }
    assertFalse(ids.contains("doc4"), "its own deleted document");
    for (TestIndex.Doc doc : index.docs) {
      assertEquals(doc.live() && doc.vector() != null, ids.contains(doc.id()), doc.id());
    }
    assertTrue(index.reader.leaves().size() >= 6, "several segments");
  }

  @Test
  void countWithoutThresholdIsTheNumberOfLiveVectors() throws IOException {
    long live = index.docs.stream().filter(d -> d.live() && d.vector() != null).count();
    Query q = query(vectors("doc1"), null, Combine.MEAN, 1f, NO_THRESHOLD);
    assertEquals(live, index.searcher.count(q));
  }

  @Test
  void insideABooleanQueryOnlyDocumentsPassingTheFilterAreVerified() throws IOException {
    float[][] likes = vectors("doc13");
    CountingQuery counted = new CountingQuery(query(likes, null, Combine.MEAN, 1f, 0.1f));
    Query q =
        new BooleanQuery.Builder()
            .add(new TermQuery(new Term("color", "red")), Occur.FILTER)
            .add(counted, Occur.MUST)
            .build();
    var expected =
        atLeast(index.bruteForce(new BruteForce(likes, new float[0][], Combine.MEAN, 0), "red"), 0.1);
    assertSameAsBruteForce(q, expected);

    Set<String> verified = new HashSet<>();
    for (int doc : counted.verifiedDocs) {
      verified.add(index.idOf(doc));
    }
    Set<String> redLiveWithVector =
        index.docs.stream()
            .filter(d -> d.live() && d.vector() != null && d.color().equals("red"))
            .map(TestIndex.Doc::id)
            .collect(Collectors.toSet());
    long withVector = index.docs.stream().filter(d -> d.live() && d.vector() != null).count();
    assertEquals(redLiveWithVector, verified, "matches() ran on exactly the red documents");
    assertEquals(redLiveWithVector.size(), counted.matchesCalls.get(), "once per document");
    assertTrue(counted.matchesCalls.get() * 5 < withVector, "far fewer than all vectors");
  }

  @Test
  void explainSaysWhyADocumentMatchedOrNot() throws IOException {
    float[][] likes = vectors("doc10");
    ExactVectorSimilarityQuery q = query(likes, null, Combine.MEAN, 1f, 0.35f);
    var all = index.bruteForce(new BruteForce(likes, new float[0][], Combine.MEAN, 0), null);
    TestIndex.Expected best = all.get(0);
    TestIndex.Expected worst = all.get(all.size() - 1);

    Explanation match = index.searcher.explain(q, index.docIdOf(best.id()));
    assertTrue(match.isMatch());
    assertTrue(
        match.getDescription().startsWith(String.format(java.util.Locale.ROOT,
            "similarity %.6f >= minSimilarity 0.350000", best.similarity()).substring(0, 16)),
        match.getDescription());
    assertTrue(match.getDescription().contains(">= minSimilarity 0.350000"), match.getDescription());
    TopDocs top = index.searcher.search(q, 1);
    assertEquals(top.scoreDocs[0].score, match.getValue().floatValue(), 1e-6);
    assertEquals("cosine to the target", match.getDetails()[0].getDescription());

    Explanation miss = index.searcher.explain(q, index.docIdOf(worst.id()));
    assertFalse(miss.isMatch());
    assertTrue(miss.getDescription().contains("< minSimilarity 0.350000"), miss.getDescription());
    assertTrue(
        miss.getDescription()
            .startsWith(String.format(java.util.Locale.ROOT, "similarity %.6f", worst.similarity())
                .substring(0, 15)),
        miss.getDescription());

    Explanation none = index.searcher.explain(q, index.docIdOf("doc5")); // 5 % 7 == 5: no vector
    assertFalse(none.isMatch());
    assertEquals("no vector in field 'vector'", none.getDescription());
  }

  @Test
  void explainNamesTheBestExampleAndTheNegative() throws IOException {
    ExactVectorSimilarityQuery q =
        query(vectors("doc1", "doc2"), vectors("doc8"), Combine.MAX, 0.5f, NO_THRESHOLD);
    Explanation e = index.searcher.explain(q, index.docIdOf("doc2"));
    assertTrue(e.isMatch());
    assertEquals("cosine to positive example 1 (best of 2)", e.getDetails()[0].getDescription());
    assertEquals(1.0, e.getDetails()[0].getValue().doubleValue(), 1e-5);
    assertTrue(
        e.getDetails()[1].getDescription().startsWith("minus unlikeWeight 0.5 * cosine"),
        e.getDetails()[1].getDescription());
    double sim = e.getDetails()[0].getValue().doubleValue() + e.getDetails()[1].getValue().doubleValue();
    assertEquals((1 + sim) / 2, e.getValue().doubleValue(), 1e-5);
  }

  @Test
  void equalsAndHashCodeCoverEveryField() {
    float[][] a = {{1f, 2f, 3f}};
    float[][] b = {{1f, 2f, 3f}};
    float[][] neg = {{0f, 1f, 0f}};
    ExactVectorSimilarityQuery base = new ExactVectorSimilarityQuery("v", a, neg, Combine.MEAN, 0.5f, 0.2f, false);
    ExactVectorSimilarityQuery same = new ExactVectorSimilarityQuery("v", b, neg, Combine.MEAN, 0.5f, 0.2f, false);
    assertEquals(base, same);
    assertEquals(base.hashCode(), same.hashCode());

    List<ExactVectorSimilarityQuery> different = new ArrayList<>();
    different.add(new ExactVectorSimilarityQuery("w", a, neg, Combine.MEAN, 0.5f, 0.2f, false));
    different.add(new ExactVectorSimilarityQuery("v", new float[][] {{1f, 2f, 4f}}, neg, Combine.MEAN, 0.5f, 0.2f, false));
    different.add(new ExactVectorSimilarityQuery("v", a, new float[][] {{1f, 0f, 0f}}, Combine.MEAN, 0.5f, 0.2f, false));
    different.add(new ExactVectorSimilarityQuery("v", a, null, Combine.MEAN, 0.5f, 0.2f, false));
    different.add(new ExactVectorSimilarityQuery("v", a, neg, Combine.MEAN, 0.7f, 0.2f, false));
    different.add(new ExactVectorSimilarityQuery("v", a, neg, Combine.MEAN, 0.5f, 0.3f, false));
    different.add(new ExactVectorSimilarityQuery("v", a, neg, Combine.MEAN, 0.5f, NO_THRESHOLD, false));
    different.add(new ExactVectorSimilarityQuery("v", a, neg, Combine.MEAN, 0.5f, 0.2f, true));
    float[][] two = {{1f, 2f, 3f}, {3f, 2f, 1f}};
    ExactVectorSimilarityQuery mean2 = new ExactVectorSimilarityQuery("v", two, neg, Combine.MEAN, 0.5f, 0.2f, false);
    ExactVectorSimilarityQuery max2 = new ExactVectorSimilarityQuery("v", two, neg, Combine.MAX, 0.5f, 0.2f, false);
    different.add(mean2);
    different.add(max2);
    for (ExactVectorSimilarityQuery other : different) {
      assertNotEquals(base, other, other.toString());
    }
    assertNotEquals(mean2, max2);
    // one example: max and mean are the same query, so they share a cache entry
    assertEquals(base, new ExactVectorSimilarityQuery("v", a, neg, Combine.MAX, 0.5f, 0.2f, false));
    // scale does not matter: targets are directions
    assertEquals(base, new ExactVectorSimilarityQuery("v", new float[][] {{2f, 4f, 6f}}, neg, Combine.MEAN, 0.5f, 0.2f, false));
  }

  @Test
  void theQueryIsImmutable() throws IOException {
    float[][] likes = {{1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f}};
    ExactVectorSimilarityQuery q = query(likes, null, Combine.MEAN, 1f, 0.2f);
    int hash = q.hashCode();
    ExactVectorSimilarityQuery copy = query(new float[][] {likes[0].clone()}, null, Combine.MEAN, 1f, 0.2f);
    likes[0][1] = 5f;
    q.positiveTargets()[0][2] = 7f;
    assertEquals(hash, q.hashCode());
    assertEquals(copy, q);
    assertEquals(index.searcher.count(copy), index.searcher.count(q));
  }

  @Test
  void aSearcherWithThreadsGivesTheSameAnswer() throws Exception {
    float[][] likes = vectors("doc1", "doc2");
    Query q = query(likes, vectors("doc9"), Combine.MAX, 0.5f, 0.05f);
    TopDocs single = index.searcher.search(q, TestIndex.DOCS);
    index.assertSameHitsWithThreads(q, single);
  }

  @Test
  void visitAndToStringNameTheFieldAndTheSetup() {
    ExactVectorSimilarityQuery q =
        query(vectors("doc1", "doc2"), vectors("doc9"), Combine.MAX, 0.5f, 0.25f);
    Set<String> fields = new HashSet<>();
    q.visit(
        new org.apache.lucene.search.QueryVisitor() {
          @Override
          public void visitLeaf(Query query) {
            fields.add(((ExactVectorSimilarityQuery) query).getField());
          }
        });
    assertEquals(Set.of("vector"), fields);
    String text = q.toString();
    assertTrue(
        text.startsWith(
            "lookalike(vector dims=8 examples=2 combine=max unlike=1 unlikeWeight=0.5"
                + " minSimilarity=0.25 target=["),
        text);
  }

  @Test
  void badVectorsAreRejected() {
    float[][] ok = {{1f, 0f}};
    assertThrows(IllegalArgumentException.class,
        () -> new ExactVectorSimilarityQuery("v", new float[][] {{0f, 0f}}, null, Combine.MEAN, 1f, 0f, false));
    assertThrows(IllegalArgumentException.class,
        () -> new ExactVectorSimilarityQuery("v", new float[][] {{Float.NaN, 0f}}, null, Combine.MEAN, 1f, 0f, false));
    assertThrows(IllegalArgumentException.class,
        () -> new ExactVectorSimilarityQuery("v", ok, new float[][] {{1f, 0f, 0f}}, Combine.MEAN, 1f, 0f, false));
    assertThrows(IllegalArgumentException.class,
        () -> new ExactVectorSimilarityQuery("v", new float[][] {{1f, 0f}, {-1f, 0f}}, null, Combine.MEAN, 1f, 0f, false));
    assertThrows(IllegalArgumentException.class,
        () -> new ExactVectorSimilarityQuery("v", ok, null, Combine.MEAN, -1f, 0f, false));
    assertThrows(IllegalArgumentException.class,
        () -> new ExactVectorSimilarityQuery("v", new float[0][], null, Combine.MEAN, 1f, 0f, false));
  }

  @Test
  void aDimensionMismatchWithTheIndexFailsClearly() {
    Query q = new ExactVectorSimilarityQuery(TestIndex.FIELD, new float[][] {{1f, 0f}}, null, Combine.MEAN, 1f, 0f, false);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> index.searcher.search(q, 10));
    assertTrue(e.getMessage().contains("has 8 dimensions, the query 2"), e.getMessage());
  }
}
