package io.lookalike.solr;

import static io.lookalike.solr.ExactVectorSimilarityQuery.NO_THRESHOLD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.ExitableDirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.QueryTimeout;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopScoreDocCollectorManager;
import org.apache.lucene.search.TotalHits;
import org.apache.lucene.store.MMapDirectory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two ways {@link VectorScans} reads vectors must give the same answer: in place from mmapped
 * dense segments (Java 22+ with jdk.incubator.vector; the Maven build passes the module on JDK
 * 22+) and copied to the heap (everywhere else). Widths are chosen so the SIMD loops' tails run:
 * 37 = 32 + 5 and 77 = 64 + 8 + 5 floats with 8 lanes.
 */
class InPlaceVectorScanTest {
  private static final double EPS = 1e-5;

  @TempDir static Path tmp;

  private static TestIndex cosine; // COSINE field, raw vectors: documents are normalised
  private static TestIndex unit; // DOT_PRODUCT field, unit vectors: no normalisation

  @BeforeAll
  static void buildIndexes() throws IOException {
    cosine =
        new TestIndex(
            VectorSimilarityFunction.COSINE, false, new MMapDirectory(tmp.resolve("cos")), 37, true);
    unit =
        new TestIndex(
            VectorSimilarityFunction.DOT_PRODUCT,
            true,
            new MMapDirectory(tmp.resolve("dot")),
            77,
            true);
  }

  @AfterAll
  static void closeIndexes() throws IOException {
    cosine.close();
    unit.close();
  }

  /** What the running JVM should allow: Java 22+ with the incubator module. */
  private static boolean jvmCanReadInPlace() {
    return Runtime.version().feature() >= 22
        && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  /** A few target setups over the index's own vectors: one, mean, max, max with negatives. */
  private static List<ExactVectorSimilarityQuery> queries(TestIndex index, boolean unitField) {
    float[][] one = {index.vectorOf("doc10")};
    float[][] three = {index.vectorOf("doc1"), index.vectorOf("doc2"), index.vectorOf("doc3")};
    float[][] negatives = {index.vectorOf("doc8"), index.vectorOf("doc9")};
    return List.of(
        query(one, new float[0][], Combine.MEAN, 1f, NO_THRESHOLD, unitField),
        query(three, new float[0][], Combine.MEAN, 1f, NO_THRESHOLD, unitField),
        query(three, new float[0][], Combine.MAX, 1f, NO_THRESHOLD, unitField),
        query(three, negatives, Combine.MAX, 0.7f, NO_THRESHOLD, unitField),
        query(one, negatives, Combine.MEAN, 0.3f, 0.1f, unitField));
  }

  private static ExactVectorSimilarityQuery query(
      float[][] likes, float[][] unlikes, Combine combine, float weight, float min, boolean unit) {
    return new ExactVectorSimilarityQuery(
        TestIndex.FIELD, likes, unlikes, combine, weight, min, unit);
  }

  @Test
  void theInPlacePathIsAvailableExactlyWhenTheJvmAllowsIt() {
    assertEquals(jvmCanReadInPlace(), VectorScans.inPlaceAvailable(), VectorScans.status());
    assertTrue(
        VectorScans.status().contains(jvmCanReadInPlace() ? "available" : "unavailable"),
        VectorScans.status());
  }

  @Test
  void denseMmappedSegmentsAreReadInPlace() throws IOException {
    assumeTrue(jvmCanReadInPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    for (TestIndex index : List.of(cosine, unit)) {
      TargetSimilarity sim = queries(index, index == unit).get(0).similarity();
      assertTrue(index.reader.leaves().size() > 1, "several segments");
      for (LeafReaderContext leaf : index.reader.leaves()) {
        FloatVectorValues values = leaf.reader().getFloatVectorValues(TestIndex.FIELD);
        assertEquals(VectorScans.Path.IN_PLACE, VectorScans.open(values, sim).path());
      }
    }
  }

  @Test
  void sparseInRamAndWrappedSegmentsAreCopied() throws IOException {
    TargetSimilarity sim = queries(cosine, false).get(0).similarity();
    try (TestIndex sparse =
            new TestIndex(
                VectorSimilarityFunction.COSINE,
                false,
                new MMapDirectory(tmp.resolve("sparse")),
                37,
                false);
        TestIndex inRam = new TestIndex(VectorSimilarityFunction.COSINE, false)) {
      assertAllSegmentsCopied(sparse.reader, sim);
      TargetSimilarity sim8 = queries(inRam, false).get(0).similarity();
      assertAllSegmentsCopied(inRam.reader, sim8);
    }
    // Solr wraps the reader like this when a request has timeAllowed.
    QueryTimeout never =
        new QueryTimeout() {
          @Override
          public boolean shouldExit() {
            return false;
          }
        };
    DirectoryReader exitable = new ExitableDirectoryReader(cosine.reader, never);
    assertAllSegmentsCopied(exitable, sim);
  }

  private static void assertAllSegmentsCopied(DirectoryReader reader, TargetSimilarity sim)
      throws IOException {
    for (LeafReaderContext leaf : reader.leaves()) {
      FloatVectorValues values = leaf.reader().getFloatVectorValues(TestIndex.FIELD);
      assertEquals(VectorScans.Path.HEAP_COPY, VectorScans.open(values, sim).path());
    }
  }

  @Test
  void bothPathsGiveTheSameSimilarityForEveryDocument() throws IOException {
    assumeTrue(jvmCanReadInPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    for (TestIndex index : List.of(cosine, unit)) {
      for (ExactVectorSimilarityQuery q : queries(index, index == unit)) {
        TargetSimilarity sim = q.similarity();
        int compared = 0;
        for (LeafReaderContext leaf : index.reader.leaves()) {
          FloatVectorValues inPlaceValues = leaf.reader().getFloatVectorValues(TestIndex.FIELD);
          FloatVectorValues copiedValues = leaf.reader().getFloatVectorValues(TestIndex.FIELD);
          VectorScan inPlace = VectorScans.open(inPlaceValues, sim);
          VectorScan copied = VectorScans.heapCopy(copiedValues, sim);
          assertEquals(VectorScans.Path.IN_PLACE, inPlace.path());
          for (int doc = inPlaceValues.nextDoc();
              doc != DocIdSetIterator.NO_MORE_DOCS;
              doc = inPlaceValues.nextDoc()) {
            assertEquals(doc, copiedValues.nextDoc());
            float expected = copied.similarity();
            assertEquals(expected, inPlace.similarity(), EPS, q + " doc " + (leaf.docBase + doc));
            compared++;
          }
          assertEquals(DocIdSetIterator.NO_MORE_DOCS, copiedValues.nextDoc());
        }
        assertEquals(TestIndex.DOCS, compared, "every document, deleted ones too");
      }
    }
  }

  @Test
  void queriesReadingInPlaceMatchBruteForceAndSaySo() throws Exception {
    assumeTrue(jvmCanReadInPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    for (TestIndex index : List.of(cosine, unit)) {
      float[][] likes = {index.vectorOf("doc1"), index.vectorOf("doc2")};
      float[][] unlikes = {index.vectorOf("doc9")};
      ExactVectorSimilarityQuery q = query(likes, unlikes, Combine.MAX, 0.5f, 0.05f, index == unit);
      List<TestIndex.Expected> expected =
          index.bruteForce(new BruteForce(likes, unlikes, Combine.MAX, 0.5), null).stream()
              .filter(e -> e.similarity() >= 0.05)
              .collect(Collectors.toList());
      Map<String, Double> want =
          expected.stream()
              .collect(Collectors.toMap(TestIndex.Expected::id, TestIndex.Expected::similarity));

      TopDocs top = index.searcher.search(q, TestIndex.DOCS);
      assertEquals(expected.size(), top.totalHits.value, "number of hits");
      for (ScoreDoc hit : top.scoreDocs) {
        String id = index.idOf(hit.doc);
        assertTrue(want.containsKey(id), id + " should not match");
        assertEquals(ExactVectorSimilarityQuery.scoreOf(want.get(id).floatValue()), hit.score, EPS);
      }

      index.assertSameHitsWithThreads(q, top);

      Explanation e = index.searcher.explain(q, top.scoreDocs[0].doc);
      assertTrue(e.isMatch());
      assertEquals(top.scoreDocs[0].score, e.getValue().floatValue(), 0f, "explain = score");
      assertTrue(
          e.getDescription().endsWith(VectorScans.Path.IN_PLACE.description), e.getDescription());
    }
  }

  /**
   * A filter of the query's own: the scan walks the filter's documents (scored in blocks when the
   * segment is read in place, four documents at a time for a plain dot product; one at a time on
   * the heap path) and answers exactly what brute force over the filter's documents does, with a
   * threshold too, on segments with deletions and sparse ones; explain agrees.
   */
  @Test
  void aFilterOfItsOwnGivesBruteForceOverTheFilter() throws Exception {
    try (TestIndex sparse =
            new TestIndex(
                VectorSimilarityFunction.DOT_PRODUCT,
                true,
                new MMapDirectory(tmp.resolve("sparse-filter")),
                77,
                false,
                true);
        TestIndex deleted =
            new TestIndex(
                VectorSimilarityFunction.DOT_PRODUCT,
                true,
                new MMapDirectory(tmp.resolve("deleted-filter")),
                77,
                true,
                true)) {
      for (TestIndex index : List.of(cosine, unit, sparse, deleted)) {
        boolean unitField = index != cosine;
        float[][] one = {index.vectorOf("doc10")};
        float[][] two = {index.vectorOf("doc1"), index.vectorOf("doc2")};
        for (float[][] likes : List.of(one, two)) {
          for (float min : new float[] {NO_THRESHOLD, 0.05f}) {
            ExactVectorSimilarityQuery q =
                query(likes, new float[0][], Combine.MAX, 1f, min, unitField)
                    .withFilters(List.of(new TermQuery(new Term("color", "red"))));
            Map<String, Double> want =
                index.bruteForce(new BruteForce(likes, new float[0][], Combine.MAX, 1), "red").stream()
                    .filter(e -> min == NO_THRESHOLD || e.similarity() >= min)
                    .collect(Collectors.toMap(TestIndex.Expected::id, TestIndex.Expected::similarity));
            TopDocs top = index.searcher.search(q, TestIndex.DOCS);
            assertEquals(want.size(), top.totalHits.value, q + ": number of hits");
            for (ScoreDoc hit : top.scoreDocs) {
              String id = index.idOf(hit.doc);
              assertTrue(want.containsKey(id), id + " should not match " + q);
              assertEquals(ExactVectorSimilarityQuery.scoreOf(want.get(id).floatValue()), hit.score, EPS);
              assertTrue(index.searcher.explain(q, hit.doc).isMatch());
            }
            index.assertSameHitsWithThreads(q, top);
            Explanation out = index.searcher.explain(q, index.docIdOf("doc6")); // live, a vector, not red
            assertTrue(!out.isMatch() && out.getDescription().startsWith("not in the pre-filter"), out.toString());
            assertEquals(q, query(likes, new float[0][], Combine.MAX, 1f, min, unitField)
                .withFilters(List.of(new TermQuery(new Term("color", "red")))));
            assertTrue(!q.equals(query(likes, new float[0][], Combine.MAX, 1f, min, unitField)));
          }
        }
      }
    }
  }
  /**
   * Blocks of documents side by side, nearly so (a stretch read whole) and scattered (four at a
   * time) must give every document the same bits, and the heap copy's similarity within rounding;
   * interpreted and compiled alike (77 dimensions: whole SIMD vectors and a tail on any width).
   */
  @Test
  void everyBlockShapeScoresADocumentTheSame() throws IOException {
    assumeTrue(jvmCanReadInPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    TargetSimilarity sim = queries(unit, true).get(0).similarity(); // a plain dot product
    LeafReaderContext leaf = unit.reader.leaves().get(0);
    FloatVectorValues values = leaf.reader().getFloatVectorValues(TestIndex.FIELD);
    VectorScan scan = VectorScans.open(values, sim);
    int docs = leaf.reader().maxDoc(); // 100
    float[] alone = new float[docs];
    FloatVectorValues heap = leaf.reader().getFloatVectorValues(TestIndex.FIELD);
    float[] one = new float[1];
    for (int d = 0; d < docs; d++) { // each document in a block of its own
      scan.similarities(new int[] {d}, 1, one);
      assertEquals(d, heap.advance(d));
      assertEquals(sim.similarity(heap.vectorValue()), one[0], EPS, "doc " + d);
      alone[d] = one[0];
    }
    int[][] blocks = {
      IntStream.range(10, 74).toArray(), // side by side
      IntStream.range(0, 40).map(i -> 2 * i + (i % 3 == 0 ? 1 : 0)).toArray(), // spans < 3 x 40
      IntStream.range(0, 22).map(i -> 4 * i + (i % 2)).toArray(), // scattered: spans > 3 x 22
      {3, 5, 6, 50, 97} // scattered, a tail after four
    };
    assertSameBits(scan, alone, blocks, "cold");
    // Again once the JIT has compiled the kernels: its code must add in the interpreter's order.
    for (int round = 0; round < 4_000; round++) {
      for (int[] block : blocks) {
        scan.similarities(block, block.length, new float[block.length]);
      }
    }
    for (int d = 0; d < docs; d++) {
      scan.similarities(new int[] {d}, 1, one);
      assertEquals(alone[d], one[0], 0f, "compiled, doc " + d + " alone");
    }
    assertSameBits(scan, alone, blocks, "compiled");
  }

  private static void assertSameBits(VectorScan scan, float[] alone, int[][] blocks, String when)
      throws IOException {
    for (int[] block : blocks) {
      float[] out = new float[block.length];
      scan.similarities(block, block.length, out);
      for (int j = 0; j < block.length; j++) {
        assertEquals(
            alone[block[j]], out[j], 0f, when + ", doc " + block[j] + " of " + Arrays.toString(block));
      }
    }
  }
  /**
   * Under a top-k collector that may skip (a hits threshold, as Solr's {@code minExactCount}),
   * the scan in blocks passes over documents that cannot enter the queue: the same top 10, with
   * far fewer documents handed to the collector (its hit count is then a lower bound).
   */
  @Test
  void aFullTopKQueueLetsTheBlockScanSkip() throws IOException {
    assumeTrue(jvmCanReadInPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    for (TestIndex index : List.of(cosine, unit)) {
      for (ExactVectorSimilarityQuery q : queries(index, index == unit)) {
        if (q.hasThreshold()) {
          continue; // a threshold counts every match anyway
        }
        ExactVectorSimilarityQuery own = q.withFilters(List.of(new MatchAllDocsQuery()));
        TopDocs all = index.searcher.search(own, new TopScoreDocCollectorManager(10, null, Integer.MAX_VALUE));
        TopDocs skipping = index.searcher.search(own, new TopScoreDocCollectorManager(10, null, 1));
        assertEquals(TotalHits.Relation.EQUAL_TO, all.totalHits.relation);
        assertEquals(TotalHits.Relation.GREATER_THAN_OR_EQUAL_TO, skipping.totalHits.relation, q.toString());
        assertTrue(skipping.totalHits.value < all.totalHits.value / 2,
            skipping.totalHits.value + " of " + all.totalHits.value + " collected: " + q);
        assertEquals(all.scoreDocs.length, skipping.scoreDocs.length);
        for (int i = 0; i < all.scoreDocs.length; i++) {
          assertEquals(all.scoreDocs[i].doc, skipping.scoreDocs[i].doc, q + " hit " + i);
          assertEquals(all.scoreDocs[i].score, skipping.scoreDocs[i].score, 0f);
        }
      }
    }
  }
}
