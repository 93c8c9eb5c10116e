package io.lookalike.solr;

import static io.lookalike.solr.ExactVectorSimilarityQuery.NO_THRESHOLD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.lucene99.OffHeapQuantizedByteVectorValues;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.VectorScorer;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.index.Term;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exact path of a quantized field in {@code mode=auto}: {@link QuantizedCandidatesQuery}
 * chooses candidates on the int7 / int4 copies read in place ({@link QuantizedScans}), {@link
 * SearchPlan#rescored} scores them with the float32 vectors. Checked against Lucene's own layout
 * and quantized scorer, and against brute force over the floats under filters, with deletions,
 * on several segments; segments that cannot be scanned (not mmapped, flat-flushed) keep every
 * filtered document, so their answers are brute force's exactly.
 *
 * <p>74 dimensions: the SIMD loops' tails run at every lane width (int7: 74 = 64 + 10 with 16
 * float lanes; int4 packs 37 bytes = 32 + 5 with 32 short lanes).
 */
class QuantizedCandidatesQueryTest {
  private static final int DIMS = 74;
  private static final int DOCS = 3000;
  private static final int PER_SEGMENT = 500;
  private static final int K = 10;
  private static final int CANDIDATES = 40;
  private static final int TARGETS = 50;
  private static final double EPS = 1e-5;
  private static final MergeWorkers ONE = MergeWorkers.start(1);

  @TempDir static Path tmp;

  private static TestIndex int7;
  private static TestIndex int4;

  @BeforeAll
  static void buildIndexes() throws IOException {
    int7 = index(VectorQuantization.INT7, new MMapDirectory(tmp.resolve("int7")), () -> false);
    int4 = index(VectorQuantization.INT4, new MMapDirectory(tmp.resolve("int4")), () -> false);
  }

  @AfterAll
  static void closeIndexes() throws IOException {
    int7.close();
    int4.close();
  }

  /** Every document has a unit vector, every 11th is deleted, six segments of 500. */
  private static TestIndex index(VectorQuantization q, Directory dir, BooleanSupplier flatFlushes)
      throws IOException {
    Codec codec =
        LookalikeCodecFactory.withVectorFormats(
            new Lucene912Codec(),
            f -> TestIndex.FIELD.equals(f) ? q.format(16, 100, DIMS, ONE) : null,
            flatFlushes);
    return new TestIndex(
        VectorSimilarityFunction.DOT_PRODUCT, true, dir, DIMS, true, true, codec, DOCS, PER_SEGMENT);
  }

  private static String name(TestIndex index) {
    return index == int7 ? "int7" : index == int4 ? "int4" : "index";
  }

  private static boolean jvmCanScan() {
    return Runtime.version().feature() >= 22
        && ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  /** Lucene's quantized values behind a quantized field's float values (a private field). */
  private static OffHeapQuantizedByteVectorValues quantized(FloatVectorValues values)
      throws ReflectiveOperationException {
    Field f = values.getClass().getDeclaredField("quantizedVectorValues");
    f.setAccessible(true);
    return (OffHeapQuantizedByteVectorValues) f.get(values);
  }

  @Test
  void theScanIsAvailableExactlyWhenTheInPlacePathIs() {
    assertEquals(jvmCanScan(), QuantizedScans.available(), QuantizedScans.status());
    assertEquals(VectorScans.inPlaceAvailable(), QuantizedScans.available(), QuantizedScans.status());
  }

  /**
   * What the scan assumes of the {@code .veq} slice, read here with plain {@code IndexInput}
   * calls: per ordinal the vector's bytes, then its correction as a little-endian float; int4
   * packs dimension i in the high nibble and i + dims/2 in the low nibble of byte i.
   */
  @Test
  void theQuantizedSliceIsBytesThenACorrectionPerVector() throws Exception {
    for (TestIndex index : List.of(int7, int4)) {
      boolean packed = index == int4;
      for (LeafReaderContext leaf : index.reader.leaves()) {
        OffHeapQuantizedByteVectorValues values =
            quantized(leaf.reader().getFloatVectorValues(TestIndex.FIELD));
        int bytes = values.getVectorByteLength();
        assertEquals(packed ? DIMS / 2 : DIMS, bytes);
        assertEquals(packed ? 4 : 7, values.getScalarQuantizer().getBits());
        assertEquals(leaf.reader().maxDoc(), values.size(), "dense: every document has a vector");
        IndexInput slice = values.getSlice().clone();
        assertEquals((long) (bytes + Float.BYTES) * values.size(), slice.length());
        byte[] raw = new byte[bytes];
        for (int ord = 0; ord < values.size(); ord++) {
          slice.seek((long) ord * (bytes + Float.BYTES));
          slice.readBytes(raw, 0, bytes);
          float correction = Float.intBitsToFloat(slice.readInt());
          byte[] expected = values.vectorValue(ord).clone();
          assertEquals(values.getScoreCorrectionConstant(ord), correction, 0f, "ord " + ord);
          for (int d = 0; d < DIMS; d++) {
            int got =
                !packed ? raw[d] : d < bytes ? (raw[d] & 0xFF) >>> 4 : raw[d - bytes] & 0x0F;
            assertEquals(expected[d], got, "ord " + ord + " dimension " + d);
          }
        }
      }
    }
  }

  /**
   * The scan's estimate mapped to Lucene's scale, {@code max(0, (1 + x) / 2)}, is the score
   * Lucene's own quantized scorer gives every document, for int7 and int4, in blocks of several
   * sizes (the four-at-a-time loop and its tail).
   */
  @Test
  void theScanEstimatesWhatLucenesQuantizedScorerScores() throws Exception {
    assumeTrue(jvmCanScan(), "needs Java 22+ with --add-modules jdk.incubator.vector");
    Random random = new Random(7);
    for (TestIndex index : List.of(int7, int4)) {
      for (int t = 0; t < 5; t++) {
        float[] target = unitVector(random);
        int compared = 0;
        for (LeafReaderContext leaf : index.reader.leaves()) {
          QuantizedScan scan = QuantizedScans.open(leaf.reader(), TestIndex.FIELD, target);
          assertNotNull(scan, "a dense mmapped quantized segment is scanned");
          assertEquals(index == int4 ? "int4 packed" : "int7", scan.describe());
          OffHeapQuantizedByteVectorValues values =
              quantized(leaf.reader().getFloatVectorValues(TestIndex.FIELD));
          VectorScorer lucene = values.scorer(target);
          DocIdSetIterator it = lucene.iterator();
          int[] block = new int[64];
          float[] out = new float[64];
          float[] expected = new float[64];
          int[] sizes = {1, 3, 4, 5, 7, 8, 64};
          int blocks = 0;
          for (int doc = it.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; blocks++) {
            int size = sizes[blocks % sizes.length];
            int n = 0;
            for (; doc != DocIdSetIterator.NO_MORE_DOCS && n < size; doc = it.nextDoc()) {
              block[n] = doc;
              expected[n++] = lucene.score();
            }
            scan.dotProducts(block, n, out);
            for (int j = 0; j < n; j++) {
              float ours = Math.max(0f, (1f + out[j]) / 2f);
              assertEquals(expected[j], ours, EPS, name(index) + " doc " + block[j]);
              compared++;
            }
          }
        }
        assertEquals(DOCS, compared);
      }
    }
  }

  /**
   * recall@10 of the rescored candidates against brute force over the floats, 50 targets, filters
   * letting through all, half, a fifth and a twentieth of the documents; scores are the float
   * ones; the candidates are live documents of the filter, as many as asked for.
   */
  @Test
  void rescoredCandidatesFindBruteForcesTop10UnderFilters() throws Exception {
    for (TestIndex index : List.of(int7, int4)) {
      Random random = new Random(11);
      for (double share : new double[] {1.0, 0.5, 0.2, 0.05}) {
        Set<String> ids = randomIds(random, share);
        Query filter = share == 1.0 ? null : idsQuery(ids);
        int found = 0;
        for (int t = 0; t < TARGETS; t++) {
          float[] target = unitVector(random);
          QuantizedCandidatesQuery q =
              new QuantizedCandidatesQuery(TestIndex.FIELD, target, filter, CANDIDATES);
          List<TestIndex.Expected> want = bruteForce(index, target, share == 1.0 ? null : ids);
          int[] chosen = candidates(index, q);
          assertEquals(
              QuantizedScans.available() ? Math.min(CANDIDATES, want.size()) : want.size(),
              chosen.length,
              "candidates");
          for (int doc : chosen) {
            TestIndex.Doc d = index.docs.get(Integer.parseInt(index.idOf(doc).substring(3)));
            assertTrue(d.live() && (share == 1.0 || ids.contains(d.id())), d.id() + " is a candidate");
          }
          found += overlapOfTop10(index, target, q, want);
        }
        double recall = (double) found / (K * TARGETS);
        assertTrue(recall >= 0.99, name(index) + " share " + share + ": recall@10 " + recall);
      }
    }
  }

  /** Segments without a quantized scan keep all their filtered documents: brute force exactly. */
  @Test
  void segmentsThatCannotBeScannedKeepEveryFilteredDocument() throws Exception {
    AtomicInteger flushes = new AtomicInteger();
    try (TestIndex inRam =
            index(VectorQuantization.INT7, new ByteBuffersDirectory(), () -> false);
        TestIndex mixed =
            index(
                VectorQuantization.INT4,
                new MMapDirectory(tmp.resolve("mixed")),
                () -> flushes.getAndIncrement() % 2 == 0)) {
      for (LeafReaderContext leaf : inRam.reader.leaves()) {
        assertNull(QuantizedScans.open(leaf.reader(), TestIndex.FIELD, unitVector(new Random(1))));
      }
      int scanned = 0;
      for (LeafReaderContext leaf : mixed.reader.leaves()) {
        scanned += QuantizedScans.open(leaf.reader(), TestIndex.FIELD, unitVector(new Random(1))) == null ? 0 : 1;
      }
      if (QuantizedScans.available()) {
        assertTrue(scanned > 0 && scanned < mixed.reader.leaves().size(), scanned + " segments scanned");
      }
      Random random = new Random(3);
      Set<String> ids = randomIds(random, 0.2);
      for (int t = 0; t < 10; t++) {
        float[] target = unitVector(random);
        QuantizedCandidatesQuery q =
            new QuantizedCandidatesQuery(TestIndex.FIELD, target, idsQuery(ids), CANDIDATES);
        List<TestIndex.Expected> want = bruteForce(inRam, target, ids);
        assertEquals(want.size(), candidates(inRam, q).length, "in RAM: every filtered document");
        assertEquals(K, overlapOfTop10(inRam, target, q, want));
        List<TestIndex.Expected> wantMixed = bruteForce(mixed, target, ids);
        assertEquals(K, overlapOfTop10(mixed, target, q, wantMixed));
      }
    }
  }

  @Test
  void identityIsFieldTargetFilterAndCount() {
    float[] target = unitVector(new Random(5));
    Query red = new TermQuery(new Term("color", "red"));
    QuantizedCandidatesQuery q = new QuantizedCandidatesQuery("vector", target, red, 100);
    assertEquals(q, new QuantizedCandidatesQuery("vector", target.clone(), new TermQuery(new Term("color", "red")), 100));
    assertEquals(q.hashCode(), new QuantizedCandidatesQuery("vector", target.clone(), red, 100).hashCode());
    assertNotEquals(q, new QuantizedCandidatesQuery("other", target, red, 100));
    assertNotEquals(q, new QuantizedCandidatesQuery("vector", unitVector(new Random(6)), red, 100));
    assertNotEquals(q, new QuantizedCandidatesQuery("vector", target, null, 100));
    assertNotEquals(q, new QuantizedCandidatesQuery("vector", target, new MatchAllDocsQuery(), 100));
    assertNotEquals(q, new QuantizedCandidatesQuery("vector", target, red, 101));
    float[] changed = target.clone();
    QuantizedCandidatesQuery copy = new QuantizedCandidatesQuery("vector", changed, red, 100);
    changed[0] += 1f;
    assertEquals(q, copy, "the target is copied in");
    assertEquals(new SearchedOnce(q), new SearchedOnce(copy));
    assertTrue(q.toString().contains("count=100"), q.toString());
  }

  /** When auto's exact scan reads the quantized copies, and the sentence it reports. */
  @Test
  void theQuantizedScanIsPlannedOnlyForAutoExactScansOfOnePlainTarget() {
    float[] a = unitVector(new Random(8));
    float[] b = unitVector(new Random(9));
    ExactVectorSimilarityQuery one = exact(new float[][] {a}, new float[0][], NO_THRESHOLD, true);
    SearchPlan.Options auto = options(SearchPlan.Mode.AUTO, 600);
    SearchPlan.Decision counted =
        new SearchPlan.Decision(SearchPlan.Mode.EXACT, "filters leave 50000 products on this shard (<= 84853): exact scan", 50_000);
    assertEquals(1203, SearchPlan.quantizedCandidates(auto, counted, one, "int7", true, 3), "2 * topK + 3 examples");
    assertEquals(1800, SearchPlan.quantizedCandidates(auto, counted, one, "int4", true, 0), "int4: 3 * topK");
    assertEquals(SearchPlan.QUANTIZED_MIN_CANDIDATES, SearchPlan.quantizedCandidates(options(SearchPlan.Mode.AUTO, 10), counted, one, "int4", true, 0));
    String reason = SearchPlan.onQuantizedCopies(counted, "int7", 1203).reason();
    assertEquals(
        "filters leave 50000 products on this shard (<= 84853): exact scan of the int7 copies, the best 1203 rescored with the float32 vectors",
        reason);
    assertEquals(SearchPlan.Mode.EXACT, SearchPlan.onQuantizedCopies(counted, "int7", 1203).mode());

    SearchPlan.Decision few = new SearchPlan.Decision(SearchPlan.Mode.EXACT, "filters leave 900 ...", 900);
    SearchPlan.Decision asked = new SearchPlan.Decision(SearchPlan.Mode.EXACT, "mode=exact was asked for");
    SearchPlan.Decision approx = new SearchPlan.Decision(SearchPlan.Mode.APPROX, "filters leave ...: HNSW kNN", 200_000);
    List<Integer> none =
        List.of(
            SearchPlan.quantizedCandidates(options(SearchPlan.Mode.EXACT, 600), asked, one, "int7", true, 0),
            SearchPlan.quantizedCandidates(auto, approx, one, "int7", true, 0),
            SearchPlan.quantizedCandidates(auto, few, one, "int7", true, 0),
            SearchPlan.quantizedCandidates(auto, counted, one, null, true, 0),
            SearchPlan.quantizedCandidates(auto, counted, one, "int7", false, 0),
            SearchPlan.quantizedCandidates(auto, counted, exact(new float[][] {a}, new float[0][], 0.5f, true), "int7", true, 0),
            SearchPlan.quantizedCandidates(auto, counted, exact(new float[][] {a}, new float[][] {b}, NO_THRESHOLD, true), "int7", true, 0),
            SearchPlan.quantizedCandidates(auto, counted, exact(new float[][] {a, b}, new float[0][], NO_THRESHOLD, true, Combine.MAX), "int7", true, 0),
            SearchPlan.quantizedCandidates(auto, counted, exact(new float[][] {a}, new float[0][], NO_THRESHOLD, false), "int7", true, 0));
    assertEquals(List.of(0, 0, 0, 0, 0, 0, 0, 0, 0), none);
    assertEquals(
        1200,
        SearchPlan.quantizedCandidates(
            auto, counted, exact(new float[][] {a, b}, new float[0][], NO_THRESHOLD, true, Combine.MEAN), "int7", true, 0),
        "several examples' mean is one target");
  }

  private static SearchPlan.Options options(SearchPlan.Mode mode, int topK) {
    return new SearchPlan.Options(mode, SearchPlan.CROSSOVER_RULE, topK, List.of("filter"), -1f, null);
  }

  private static ExactVectorSimilarityQuery exact(float[][] likes, float[][] unlikes, float min, boolean unit) {
    return exact(likes, unlikes, min, unit, Combine.MEAN);
  }

  private static ExactVectorSimilarityQuery exact(
      float[][] likes, float[][] unlikes, float min, boolean unit, Combine combine) {
    return new ExactVectorSimilarityQuery(TestIndex.FIELD, likes, unlikes, combine, 1f, min, unit);
  }

  /** How many of brute force's top 10 the rescored candidates' top 10 has; scores must agree. */
  private static int overlapOfTop10(
      TestIndex index, float[] target, QuantizedCandidatesQuery q, List<TestIndex.Expected> want)
      throws IOException {
    ExactVectorSimilarityQuery exact = exact(new float[][] {target}, new float[0][], NO_THRESHOLD, true);
    Query rescored = SearchPlan.rescored(exact, target, new SearchedOnce(q));
    TopDocs top = index.searcher.search(rescored, K);
    Map<String, Double> similarity = new HashMap<>();
    want.forEach(e -> similarity.put(e.id(), e.similarity()));
    Set<String> best = new HashSet<>();
    want.stream().limit(K).forEach(e -> best.add(e.id()));
    int found = 0;
    for (ScoreDoc hit : top.scoreDocs) {
      String id = index.idOf(hit.doc);
      assertEquals(ExactVectorSimilarityQuery.scoreOf(similarity.get(id).floatValue()), hit.score, EPS, id);
      found += best.contains(id) ? 1 : 0;
    }
    return found;
  }

  /** The candidates {@code q} rewrites to, as global document ids. */
  private static int[] candidates(TestIndex index, QuantizedCandidatesQuery q) throws IOException {
    TopDocs all = index.searcher.search(q, DOCS);
    return java.util.Arrays.stream(all.scoreDocs).mapToInt(d -> d.doc).sorted().toArray();
  }

  /** Live documents of {@code ids} (all with null), by float similarity to the target, best first. */
  private static List<TestIndex.Expected> bruteForce(TestIndex index, float[] target, Set<String> ids) {
    BruteForce sim = new BruteForce(new float[][] {target}, new float[0][], Combine.MEAN, 1);
    List<TestIndex.Expected> out = new ArrayList<>();
    for (TestIndex.Doc doc : index.docs) {
      if (doc.live() && (ids == null || ids.contains(doc.id()))) {
        out.add(new TestIndex.Expected(doc.id(), sim.similarity(doc.vector())));
      }
    }
    out.sort(Comparator.comparingDouble(TestIndex.Expected::similarity).reversed());
    return out;
  }

  private static Set<String> randomIds(Random random, double share) {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < DOCS; i++) {
      if (random.nextDouble() < share) {
        ids.add("doc" + i);
      }
    }
    return ids;
  }

  private static Query idsQuery(Set<String> ids) {
    List<BytesRef> terms = new ArrayList<>();
    ids.forEach(id -> terms.add(new BytesRef(id)));
    return new TermInSetQuery("id", terms);
  }

  private static float[] unitVector(Random random) {
    float[] v = new float[DIMS];
    for (int d = 0; d < DIMS; d++) {
      v[d] = (float) random.nextGaussian();
    }
    return ExactVectorSimilarityQuery.unit(v, "target");
  }
}
