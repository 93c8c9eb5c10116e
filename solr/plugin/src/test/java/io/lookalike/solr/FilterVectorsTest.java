package io.lookalike.solr;

import static io.lookalike.solr.ExactVectorSimilarityQuery.NO_THRESHOLD;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BulkScorer;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopScoreDocCollector;
import org.apache.lucene.search.TopScoreDocCollectorManager;
import org.apache.lucene.search.Weight;
import org.apache.lucene.store.MMapDirectory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packed int8 copy of a filter's vectors ({@link FilterVectors}) must give every document it
 * hands out the exact score the scan of the mapped file gives (same kernel, same bits), pass over
 * only documents that cannot compete, even among near ties far closer than int8 can tell apart,
 * skip what it cannot pack or serve, and refuse a document it does not hold. The Solr cache
 * around it is tested against a real Solr (tests/integration/test_filter_vectors.py).
 */
class FilterVectorsTest {
  @TempDir static Path tmp;

  private static TestIndex cosine; // COSINE, raw vectors, deletions, every document has a vector
  private static TestIndex unit; // DOT_PRODUCT, unit vectors: the plain-dot kernel
  private static TestIndex sparse; // some documents have no vector

  private static final List<Query> RED = List.of(new TermQuery(new Term("color", "red")));

  @BeforeAll
  static void buildIndexes() throws IOException {
    cosine =
        new TestIndex(
            VectorSimilarityFunction.COSINE, false, new MMapDirectory(tmp.resolve("c")), 37, true);
    unit =
        new TestIndex(
            VectorSimilarityFunction.DOT_PRODUCT, true, new MMapDirectory(tmp.resolve("u")), 77, true);
    sparse =
        new TestIndex(
            VectorSimilarityFunction.COSINE, false, new MMapDirectory(tmp.resolve("s")), 37, false);
  }

  @AfterAll
  static void closeIndexes() throws IOException {
    for (TestIndex index : List.of(cosine, unit, sparse)) {
      index.close();
    }
  }

  private static boolean inPlace() {
    return VectorScans.inPlaceAvailable();
  }

  private static List<ExactVectorSimilarityQuery> queries(TestIndex index) {
    boolean unitDocs = index == unit;
    float[][] one = {index.vectorOf("doc3")};
    float[][] two = {index.vectorOf("doc13"), index.vectorOf("doc23")};
    float[][] none = new float[0][];
    return List.of(
        new ExactVectorSimilarityQuery(
            TestIndex.FIELD, one, none, Combine.MEAN, 0f, NO_THRESHOLD, unitDocs),
        new ExactVectorSimilarityQuery(
            TestIndex.FIELD, two, new float[][] {index.vectorOf("doc9")}, Combine.MAX, 0.5f, 0.05f, unitDocs));
  }

  /** (doc, score) of every hit of {@code weight}, segment by segment. */
  private static List<float[]> hits(Weight weight, TestIndex index) throws IOException {
    return hits(weight, index.reader);
  }

  private static List<float[]> hits(Weight weight, IndexReader reader) throws IOException {
    List<float[]> out = new ArrayList<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      Scorer scorer = weight.scorer(leaf);
      if (scorer == null) {
        continue;
      }
      DocIdSetIterator it = scorer.iterator(); // with a threshold, its matches() applied
      for (int d = it.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = it.nextDoc()) {
        out.add(new float[] {leaf.docBase + d, scorer.score()});
      }
    }
    return out;
  }

  @Test
  void packedRowsScoreEveryDocumentAsTheMappedFileDoes() throws IOException {
    assumeTrue(inPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    for (TestIndex index : List.of(cosine, unit)) {
      PreFilter filter = PreFilter.of(index.searcher, RED);
      FilterVectors packed = FilterVectors.pack(index.reader, TestIndex.FIELD, index.dims, filter);
      // a Lucene filter's scorer yields deleted documents too (the collector drops them, as for
      // the mapped scan); Solr's DocSets hold only live ones
      long red = index.docs.stream().filter(d -> d.color().equals("red")).count();
      assertEquals(red, packed.count(), "every red document, once");
      long codes = red * index.dims;
      assertTrue(packed.ramBytesUsed() >= codes && packed.ramBytesUsed() < codes + red * 16 + 2048,
          "a byte a dimension and a few a row: " + packed.ramBytesUsed());
      for (ExactVectorSimilarityQuery q : queries(index)) {
        ExactVectorSimilarityQuery filtered = q.withFilters(RED);
        Weight mapped =
            new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(filtered, filter, null, 1f);
        Weight rows =
            new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(filtered, filter, packed, 1f);
        List<float[]> want = hits(mapped, index);
        List<float[]> got = hits(rows, index);
        assertTrue(want.size() > 10, "the test means something: " + want.size() + " hits");
        assertEquals(want.size(), got.size(), q.toString());
        for (int i = 0; i < want.size(); i++) {
          assertArrayEquals(want.get(i), got.get(i), 0f, q + " hit " + i); // bit for bit
        }
      }
      for (LeafReaderContext leaf : index.reader.leaves()) {
        FilterVectors.Leaf rows = packed.leaf(leaf);
        assertNotNull(rows, "a dense segment is packed");
        List<ExactVectorSimilarityQuery> qs = queries(index);
        VectorScan inPlace = VectorScans.open(leaf.reader().getFloatVectorValues(TestIndex.FIELD), qs.get(0).similarity());
        VectorScan one = rows.scan(qs.get(0).similarity(), inPlace);
        if (index == unit) {
          assertEquals(VectorScans.Path.PACKED, one.path(), "one target, unit vectors: the plain dot product");
        } else {
          assertNull(one, "raw cosine vectors are normalised per document: scanned in place");
        }
        assertNull(rows.scan(qs.get(1).similarity(), inPlace), "several targets and a negative: in place");
      }
    }
  }

  /**
   * Under a top-k collector that may skip, the int8 approximations pass over the far documents,
   * and the top 10 and their scores are exactly the in-place scan's, among near ties: a quarter of
   * the vectors are one direction plus noise of 1e-3, so their similarities to it differ by far
   * less than int8's rounding (about 5e-3 here) and the approximations order them wrongly; none of
   * them can be passed over. With a threshold between the ties, the same hits and scores too.
   */
  @Test
  void nearTiesStillComeOutExact() throws IOException {
    assumeTrue(inPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    int dims = 64;
    int docs = 6000;
    Random random = new Random(20261204L);
    float[] direction = TestIndex.randomVector(random, dims, true);
    try (MMapDirectory dir = new MMapDirectory(tmp.resolve("ties"))) {
      IndexWriterConfig config = new IndexWriterConfig().setMergePolicy(NoMergePolicy.INSTANCE);
      try (IndexWriter writer = new IndexWriter(dir, config)) {
        for (int i = 0; i < docs; i++) {
          float[] v = TestIndex.randomVector(random, dims, true); // far: similarity about 0 +- 0.13
          if (i % 4 == 1) { // a near tie
            for (int d = 0; d < dims; d++) {
              v[d] = direction[d] + 1e-3f * (float) random.nextGaussian();
            }
          }
          Document doc = new Document();
          doc.add(new StringField("color", i % 3 == 0 ? "other" : "red", Field.Store.NO));
          doc.add(new KnnFloatVectorField(TestIndex.FIELD, TestIndex.unit(v), VectorSimilarityFunction.DOT_PRODUCT));
          writer.addDocument(doc);
          if (i == docs / 2) {
            writer.commit(); // two segments
          }
        }
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        IndexSearcher searcher = new IndexSearcher(reader);
        PreFilter filter = PreFilter.of(searcher, RED);
        FilterVectors packed = FilterVectors.pack(reader, TestIndex.FIELD, dims, filter);
        assertEquals(4000, packed.count());
        ExactVectorSimilarityQuery q =
            new ExactVectorSimilarityQuery(
                    TestIndex.FIELD, new float[][] {direction}, new float[0][], Combine.MEAN, 0f, NO_THRESHOLD, true)
                .withFilters(RED);
        TopDocs want = top(new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(q, filter, null, 1f),
            reader, Integer.MAX_VALUE);
        TopDocs got = top(new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(q, filter, packed, 1f),
            reader, 10);
        assertEquals(4000, want.totalHits.value);
        float spread = want.scoreDocs[0].score - want.scoreDocs[9].score;
        assertTrue(spread > 0 && spread < 1e-3f, "near ties: the top 10 span " + spread);
        for (int i = 0; i < 10; i++) {
          assertEquals(want.scoreDocs[i].doc, got.scoreDocs[i].doc, "hit " + i);
          assertEquals(want.scoreDocs[i].score, got.scoreDocs[i].score, 0f, "hit " + i);
        }
        long ties = 1000; // of the 4000 red documents (i % 3 != 0), those with i % 4 == 1
        assertTrue(got.totalHits.value >= ties && got.totalHits.value < ties + 200,
            "passed over the far documents, none of the ties: " + got.totalHits.value + " collected");
        // a threshold among the ties: the 50th best similarity
        float min = 2 * top(new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(q, filter, null, 1f),
            reader, Integer.MAX_VALUE, 50).scoreDocs[49].score - 1;
        ExactVectorSimilarityQuery above =
            new ExactVectorSimilarityQuery(
                    TestIndex.FIELD, new float[][] {direction}, new float[0][], Combine.MEAN, 0f, min, true)
                .withFilters(RED);
        List<float[]> mappedHits = hits(new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(above, filter, null, 1f), reader);
        List<float[]> packedHits = hits(new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(above, filter, packed, 1f), reader);
        assertTrue(mappedHits.size() >= 50 && mappedHits.size() < 60, mappedHits.size() + " above the threshold");
        assertEquals(mappedHits.size(), packedHits.size());
        for (int i = 0; i < mappedHits.size(); i++) {
          assertArrayEquals(mappedHits.get(i), packedHits.get(i), 0f, "hit " + i);
        }
      }
    }
  }

  private static TopDocs top(Weight weight, IndexReader reader, int totalHitsThreshold) throws IOException {
    return top(weight, reader, totalHitsThreshold, 10);
  }

  /** The top {@code k} of {@code weight}, collected as IndexSearcher would, segment by segment. */
  private static TopDocs top(Weight weight, IndexReader reader, int totalHitsThreshold, int k) throws IOException {
    TopScoreDocCollector collector = new TopScoreDocCollectorManager(k, null, totalHitsThreshold).newCollector();
    for (LeafReaderContext leaf : reader.leaves()) {
      BulkScorer scorer = weight.bulkScorer(leaf);
      if (scorer != null) {
        scorer.score(collector.getLeafCollector(leaf), leaf.reader().getLiveDocs());
      }
    }
    return collector.topDocs();
  }

  @Test
  void sparseSegmentsAreScannedInPlaceAndStillAnswer() throws IOException {
    assumeTrue(inPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    PreFilter filter = PreFilter.of(sparse.searcher, RED);
    FilterVectors packed = FilterVectors.pack(sparse.reader, TestIndex.FIELD, sparse.dims, filter);
    assertEquals(0, packed.count());
    for (LeafReaderContext leaf : sparse.reader.leaves()) {
      assertNull(packed.leaf(leaf));
    }
    ExactVectorSimilarityQuery q = queries(sparse).get(0).withFilters(RED);
    List<float[]> want =
        hits(new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(q, filter, null, 1f), sparse);
    List<float[]> got =
        hits(new ExactVectorSimilarityQuery.ExactVectorSimilarityWeight(q, filter, packed, 1f), sparse);
    assertEquals(want.size(), got.size());
  }

  @Test
  void aCopyBelongsToTheReaderItWasPackedFrom() throws IOException {
    assumeTrue(inPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    FilterVectors packed =
        FilterVectors.pack(cosine.reader, TestIndex.FIELD, cosine.dims, PreFilter.of(cosine.searcher, RED));
    try (DirectoryReader other = DirectoryReader.open(unit.directory)) {
      for (LeafReaderContext leaf : other.leaves()) {
        assertNull(packed.leaf(leaf), "another index's segment with the same ord");
      }
    }
  }

  @Test
  void aDocumentOutsideTheFilterIsRefused() throws IOException {
    assumeTrue(inPlace(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    FilterVectors packed =
        FilterVectors.pack(unit.reader, TestIndex.FIELD, unit.dims, PreFilter.of(unit.searcher, RED));
    LeafReaderContext first = unit.reader.leaves().get(0);
    TargetSimilarity sim = queries(unit).get(0).similarity();
    VectorScan scan =
        packed.leaf(first).scan(sim, VectorScans.open(first.reader().getFloatVectorValues(TestIndex.FIELD), sim));
    int notRed = 0; // doc0 of the first segment: color "other" (red is i % 10 == 3)
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> scan.approximations(new int[] {notRed}, 1, new float[1], new float[1]));
    assertTrue(e.getMessage().contains("not in the packed filter"), e.getMessage());
  }

  @Test
  void withoutSolrsSearcherNothingIsPacked() throws IOException {
    PreFilter filter = PreFilter.of(cosine.searcher, RED);
    assertNull(FilterVectors.lookup(cosine.searcher, TestIndex.FIELD, cosine.dims, RED, filter));
    assertEquals(-1, filter.count(), "a Lucene filter's size is known only by iterating it");
  }
}
