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
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.Weight;
import org.apache.lucene.store.MMapDirectory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packed copy of a filter's vectors ({@link FilterVectors}) must score every document exactly
 * as the scan of the mapped file does (same kernel, same sums), skip what it cannot pack, and
 * refuse a document it does not hold. The Solr cache around it is tested against a real Solr
 * (tests/integration/test_filter_vectors.py).
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
    List<float[]> out = new ArrayList<>();
    for (LeafReaderContext leaf : index.reader.leaves()) {
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
      assertTrue(packed.ramBytesUsed() >= red * index.dims * Float.BYTES);
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
        assertEquals(VectorScans.Path.PACKED, rows.scan(queries(index).get(0).similarity()).path());
      }
    }
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
        FilterVectors.pack(cosine.reader, TestIndex.FIELD, cosine.dims, PreFilter.of(cosine.searcher, RED));
    LeafReaderContext first = cosine.reader.leaves().get(0);
    VectorScan scan = packed.leaf(first).scan(queries(cosine).get(0).similarity());
    int notRed = 0; // doc0 of the first segment: color "other" (red is i % 10 == 3)
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class, () -> scan.similarities(new int[] {notRed}, 1, new float[1]));
    assertTrue(e.getMessage().contains("not in the packed filter"), e.getMessage());
  }

  @Test
  void withoutSolrsSearcherNothingIsPacked() throws IOException {
    PreFilter filter = PreFilter.of(cosine.searcher, RED);
    assertNull(FilterVectors.lookup(cosine.searcher, TestIndex.FIELD, cosine.dims, RED, filter));
    assertEquals(-1, filter.count(), "a Lucene filter's size is known only by iterating it");
  }
}
