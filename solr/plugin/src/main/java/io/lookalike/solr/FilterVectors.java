package io.lookalike.solr;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.util.Accountable;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.RamUsageEstimator;
import org.apache.solr.search.ExtendedQuery;
import org.apache.solr.search.SolrCache;
import org.apache.solr.search.SolrIndexSearcher;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.request.SolrRequestInfo;

/**
 * A packed copy of the vectors a pre-filter lets through: per segment, its documents in order and
 * their vectors one after the other in int8 (each row a byte per dimension and a scale).
 *
 * <p>Why: a filter's survivors are scattered over the segment's vector file, so an exact scan of
 * them costs a memory round trip (and a page walk) per vector, whatever the filter's size; the
 * same vectors side by side stream at memory speed, and in int8 a quarter of the bytes stream.
 * Measured at 500k x 256 with 10% passing, one JVM thread: 8.5 ms scattered, 2.4 ms packed in
 * float32.
 *
 * <p><b>Scores stay exact.</b> Row {@code r} stands for {@code scales[r] * codes[r]}, with
 * {@code scale = max|x| / 127}; {@code bounds[r]} is the L2 norm of what rounding lost plus an
 * allowance for float rounding in both kernels, so {@code |q.x - approximation| <= |q| *
 * bounds[r]} (Cauchy-Schwarz). The block scan ({@link ScoredBlocks}) passes over a document only
 * when that bound cannot reach the collector's bottom or the threshold, and reads the exact
 * similarity from the mapped file (the same kernel and bits as an in-place scan) for every
 * document it hands out. So the copy serves the plain dot product of one target (what
 * similar-by-id asks); several targets, negatives or raw cosine vectors are scanned in place.
 *
 * <p>Storefront filters repeat (a category page, "in stock"), so the copy is kept in the user
 * cache {@value #CACHE} of Solr's searcher, declared in the products configset with a RAM bound;
 * without that cache nothing is packed. A filter is packed on its second use (by a second
 * request: the first only marks it seen), so a filter asked once costs no copy; one entry takes
 * at most a quarter of the cache's {@code maxRamMB} (so that several hot filters share it, and
 * a copy of a whole collection, which streams in place anyway, does not push them out), and
 * filters under {@link #MIN_ROWS} vectors are not
 * packed (their scan is short anyway). The cache belongs to one searcher: a commit starts an
 * empty one, so the copy can never hold a deleted or changed document.
 *
 * <p>Only segments whose every document has a vector (dense, as the indexer writes them) are
 * packed; the others, and every segment on a JVM without the in-place path ({@link
 * VectorScans#codes}), are scanned as before.
 */
final class FilterVectors implements Accountable {
  /** The name of the searcher's user cache holding the copies. */
  static final String CACHE = "lookalikeFilterVectors";

  /** A request parameter: {@code false} scans this request's filter in place (to compare). */
  static final String PARAM = "lookalike.filterVectors";

  /** One copy takes at most 1 / SHARE of the cache. */
  static final int SHARE = 4;

  /** Filters passing fewer vectors than this are scanned in place. */
  static final int MIN_ROWS = 2048;

  /** Bytes a packed row costs beyond its codes: its document id, scale and bound. */
  static final int ROW_OVERHEAD = Integer.BYTES + 2 * Float.BYTES;

  /**
   * One segment's packed vectors: {@code scales[i] * codes[i * dims ..]} approximates the vector
   * of {@code docs[i]} within {@code bounds[i]} (L2, float rounding included).
   */
  record Leaf(Object core, int[] docs, byte[] codes, float[] scales, float[] bounds, int dims) {
    /**
     * A bounded scan of these rows by document id, exact similarities from {@code exact} (the
     * segment's in-place scan); null when the copy cannot serve {@code similarity} (not a plain
     * dot product of one target) or {@code exact} cannot read by document id.
     */
    VectorScan scan(TargetSimilarity similarity, VectorScan exact) {
      float[] target = similarity.plainDotTarget();
      if (target == null || !exact.byDocId()) {
        return null;
      }
      CodeScan dots = VectorScans.codes(codes, scales, dims, target);
      return dots == null ? null : new Rows(docs, dots, bounds, normUp(target), exact);
    }
  }

  /** The cache key: the field and the filters (Solr's filter queries, equal by value). */
  record Key(String field, List<Query> filters, boolean packed) implements Accountable {
    @Override
    public long ramBytesUsed() {
      long bytes = 64 + RamUsageEstimator.sizeOf(field);
      for (Query q : filters) {
        bytes += q instanceof Accountable a ? a.ramBytesUsed() : RamUsageEstimator.QUERY_DEFAULT_RAM_BYTES_USED;
      }
      return bytes;
    }
  }

  /**
   * What the cache holds for a filter seen in one request so far. A request may build its query's
   * weight twice (Solr scores a sorted page's hits again), which is not a second use.
   */
  private record Seen(int request, long startTime) implements Accountable {
    static Seen now() {
      SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
      SolrQueryRequest req = info == null ? null : info.getReq();
      return req == null ? new Seen(0, System.nanoTime()) : new Seen(System.identityHashCode(req), req.getStartTime());
    }

    @Override
    public long ramBytesUsed() {
      return 32;
    }
  }

  private final Leaf[] leaves; // by leaf ord; null: scanned in place
  private final int count;
  private final long bytes;

  private FilterVectors(Leaf[] leaves) {
    this.leaves = leaves;
    int n = 0;
    long b = RamUsageEstimator.shallowSizeOf(leaves);
    for (Leaf leaf : leaves) {
      if (leaf != null) {
        n += leaf.docs.length;
        b += RamUsageEstimator.sizeOf(leaf.docs) + RamUsageEstimator.sizeOf(leaf.codes)
            + RamUsageEstimator.sizeOf(leaf.scales) + RamUsageEstimator.sizeOf(leaf.bounds) + 64;
      }
    }
    this.count = n;
    this.bytes = b;
  }

  /** The packed vectors of segment {@code context}, or null when it is scanned in place. */
  Leaf leaf(LeafReaderContext context) {
    if (context.ord >= leaves.length) {
      return null;
    }
    Leaf leaf = leaves[context.ord];
    return leaf != null && leaf.core == coreOf(context.reader()) ? leaf : null;
  }

  /** Vectors packed, over every segment. */
  int count() {
    return count;
  }

  @Override
  public long ramBytesUsed() {
    return bytes;
  }

  /** Where a filter stands in a searcher's copies, for the planner ({@link SearchPlan}). */
  enum Heat {
    /** Packed: its exact scan reads the int8 copy. */
    PACKED,
    /** Asked by an earlier request: packed on its next exact scan. */
    SEEN,
    /** Not asked before. */
    COLD,
    /** Never packed: no cache, too few or too many vectors, not to be cached, or asked so. */
    UNPACKABLE
  }

  /**
   * The searcher's cache of copies when {@code filters}, passing {@code rows} vectors of {@code
   * dims}, may be packed in it, else null: when the searcher is not Solr's or has no {@value
   * #CACHE} cache with a {@code maxRamMB}, when a filter is not to be cached, when the in-place
   * path is unavailable, when the request says {@code lookalike.filterVectors=false}, or when the
   * filter passes too few vectors or a copy would take over a quarter of the cache.
   */
  private static SolrCache<Key, Accountable> cacheFor(
      IndexSearcher searcher, int dims, List<Query> filters, long rows) {
    if (!(searcher instanceof SolrIndexSearcher solr) || !VectorScans.inPlaceAvailable()) {
      return null;
    }
    SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
    if (info != null && info.getReq() != null && !info.getReq().getParams().getBool(PARAM, true)) {
      return null;
    }
    @SuppressWarnings("unchecked")
    SolrCache<Key, Accountable> cache = solr.getCache(CACHE);
    if (cache == null || cache.getMaxRamMB() <= 0 || cache.getMaxRamMB() == Integer.MAX_VALUE) {
      return null;
    }
    for (Query q : filters) {
      if (q instanceof ExtendedQuery e && !e.getCache()) {
        return null; // one query's own candidates (the rescoring of quantized HNSW)
      }
    }
    long limit = (long) cache.getMaxRamMB() * 1024 * 1024 / SHARE;
    return rows < MIN_ROWS || rows * (dims + ROW_OVERHEAD) > limit ? null : cache;
  }

  /**
   * Where {@code filters} (passing {@code rows} vectors) stands on {@code searcher}; a {@link
   * Heat#COLD} filter is marked seen, so that its next request finds it {@link Heat#SEEN}.
   */
  static Heat heat(IndexSearcher searcher, String field, int dims, List<Query> filters, long rows) {
    SolrCache<Key, Accountable> cache = cacheFor(searcher, dims, filters, rows);
    if (cache == null) {
      return Heat.UNPACKABLE;
    }
    if (cache.get(new Key(field, filters, true)) instanceof FilterVectors) {
      return Heat.PACKED;
    }
    return seenBefore(cache, field, filters) ? Heat.SEEN : Heat.COLD;
  }

  /** Whether another request saw {@code filters} before; if not, this one is recorded. */
  private static boolean seenBefore(SolrCache<Key, Accountable> cache, String field, List<Query> filters) {
    Key seenKey = new Key(field, filters, false);
    Seen now = Seen.now();
    if (cache.get(seenKey) instanceof Seen before && !before.equals(now)) {
      return true;
    }
    cache.put(seenKey, now);
    return false;
  }

  /**
   * The packed vectors of {@code filters} on {@code searcher}: from its cache, or packed now when
   * another request saw the filter before. Null (scan in place) when it cannot be packed (see
   * {@link #cacheFor}) or is seen for the first time.
   */
  static FilterVectors lookup(
      IndexSearcher searcher, String field, int dims, List<Query> filters, PreFilter filter)
      throws IOException {
    SolrCache<Key, Accountable> cache =
        VectorScans.inPlaceAvailable() && searcher instanceof SolrIndexSearcher
            ? cacheFor(searcher, dims, filters, filter.count())
            : null;
    if (cache == null) {
      return null;
    }
    Key packedKey = new Key(field, filters, true);
    if (cache.get(packedKey) instanceof FilterVectors hit) {
      SearchPlan.noteVectors(String.format(Locale.ROOT, "%,d vectors of the filter, packed in int8", hit.count));
      return hit;
    }
    if (!seenBefore(cache, field, filters)) {
      SearchPlan.noteVectors("scattered: the filter is packed on its next use");
      return null;
    }
    Accountable packed =
        cache.computeIfAbsent(packedKey, k -> pack(searcher.getIndexReader(), field, dims, filter));
    if (packed instanceof FilterVectors fresh) {
      SearchPlan.noteVectors(
          String.format(Locale.ROOT, "%,d vectors of the filter, packed in int8 now", fresh.count));
      return fresh;
    }
    return null;
  }

  /** The vectors of {@code field} that {@code filter} lets through, packed per dense segment. */
  static FilterVectors pack(IndexReader reader, String field, int dims, PreFilter filter)
      throws IOException {
    List<LeafReaderContext> contexts = reader.leaves();
    Leaf[] leaves = new Leaf[contexts.size()];
    for (LeafReaderContext context : contexts) {
      leaves[context.ord] = packLeaf(context, field, dims, filter);
    }
    return new FilterVectors(leaves);
  }

  private static Leaf packLeaf(LeafReaderContext context, String field, int dims, PreFilter filter)
      throws IOException {
    LeafReader reader = context.reader();
    FloatVectorValues values = reader.getFloatVectorValues(field);
    if (values == null || values.dimension() != dims || values.size() != reader.maxDoc()) {
      return null; // no vectors, or sparse: scanned in place
    }
    DocIdSetIterator docs = filter.iterator(context);
    if (docs == null) {
      return null;
    }
    int[] ids = new int[64];
    int n = 0;
    for (int d = docs.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = docs.nextDoc()) {
      ids = ArrayUtil.grow(ids, n + 1);
      ids[n++] = d;
    }
    ids = ArrayUtil.copyOfSubArray(ids, 0, n);
    byte[] codes = new byte[Math.multiplyExact(n, dims)];
    float[] scales = new float[n];
    float[] bounds = new float[n];
    for (int i = 0; i < n; i++) {
      if (values.advance(ids[i]) != ids[i]) {
        throw new IllegalStateException("dense vectors lack document " + ids[i]);
      }
      quantize(values.vectorValue(), dims, codes, i, scales, bounds);
    }
    return new Leaf(coreOf(reader), ids, codes, scales, bounds, dims);
  }

  /** Adding and taking away 1.5 * 2^23 rounds a float under 2^22 to the nearest integer. */
  private static final float ROUND = 12582912f;

  /** The unit roundoff of float, 2^-24. */
  private static final double U = Math.ulp(1f) / 2;

  /**
   * Row {@code row} of the copy from vector {@code v}: its codes (nearest integers of {@code v /
   * scale}, {@code scale = max|v| / 127}), scale and bound. Plain loops the JIT vectorises
   * (rounding by {@link #ROUND}, not {@code Math.round}: 50k x 256 in 35 ms against 115), sums of
   * squares in float, their rounding in {@link #bound}.
   */
  private static void quantize(float[] v, int dims, byte[] codes, int row, float[] scales, float[] bounds) {
    float maxAbs = 0f;
    for (int d = 0; d < dims; d++) {
      maxAbs = Math.max(maxAbs, Math.abs(v[d]));
    }
    float scale = maxAbs / 127f;
    float inverse = maxAbs == 0f ? 0f : 127f / maxAbs;
    int o = row * dims;
    for (int d = 0; d < dims; d++) {
      codes[o + d] = (byte) Math.max(-127, Math.min(127, (int) ((v[d] * inverse + ROUND) - ROUND)));
    }
    float lost = 0f;
    float norm = 0f;
    float coded = 0f;
    for (int d = 0; d < dims; d++) {
      float x = v[d];
      float c = scale * codes[o + d];
      float e = x - c;
      lost += e * e;
      norm += x * x;
      coded += c * c;
    }
    scales[row] = scale;
    bounds[row] = bound(lost, norm, coded, dims);
  }

  /**
   * {@code |q.x - approximation| <= |q| * bound} for a row whose rounding lost {@code
   * lostSquares} (the float sum of its squared differences) of a vector with squared norm {@code
   * normSquares}, coded with {@code codedSquares}. Cauchy-Schwarz gives {@code |q| * lost} in exact
   * arithmetic. Float rounding is charged with Higham's {@code gamma(k) = k u / (1 - k u)}: each
   * sum of {@code dims} squares by {@code gamma(dims)}, each difference by {@code u (|x| + 2 lost)},
   * and each kernel (FMA lanes, their sum, a tail of products, the scale: at most {@code 2 dims +
   * 128} roundings a term) by {@code gamma * |q| * |x|}, once with the vector's norm and once with
   * the coded one.
   */
  static float bound(float lostSquares, float normSquares, float codedSquares, int dims) {
    double sums = 1 + gamma(dims);
    double lost = Math.sqrt(lostSquares * sums);
    double norm = Math.sqrt(normSquares * sums);
    double coded = Math.sqrt(codedSquares * sums);
    double residual = (lost + 2 * U * norm) / (1 - 2 * U);
    return Math.nextUp((float) ((residual + gamma(2 * dims + 128) * (norm + coded)) * 1.01));
  }

  private static double gamma(int k) {
    return k * U / (1 - k * U);
  }

  /** The L2 norm of {@code v}, rounded up to a float. */
  static float normUp(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    return Math.nextUp((float) Math.sqrt(sum));
  }

  private static Object coreOf(LeafReader reader) {
    return reader.getCoreCacheHelper() == null ? reader : reader.getCoreCacheHelper().getKey();
  }

  /**
   * A segment's packed rows read by document id: blocks come in ascending order ({@link
   * ScoredBlocks}), so each block's first document is found after the last block's, and the rest
   * follow it row by row. Approximations from the int8 rows, exact similarities from the mapped
   * file.
   */
  private static final class Rows implements VectorScan {
    private final int[] docs;
    private final CodeScan dots;
    private final float[] bounds;
    private final float targetNorm; // rounded up
    private final VectorScan exact;
    private final int[] one = new int[1];
    private final float[] oneOut = new float[1];
    private int[] positions = new int[ScoredBlocks.BLOCK];
    private int next; // the row after the last block's

    Rows(int[] docs, CodeScan dots, float[] bounds, float targetNorm, VectorScan exact) {
      this.docs = docs;
      this.dots = dots;
      this.bounds = bounds;
      this.targetNorm = targetNorm;
      this.exact = exact;
    }

    @Override
    public float similarity() {
      throw new UnsupportedOperationException("packed rows are scored in blocks");
    }

    @Override
    public boolean byDocId() {
      return true;
    }

    @Override
    public boolean bounded() {
      return true;
    }

    @Override
    public void approximations(int[] blockDocs, int n, float[] out, float[] err) {
      if (n == 0) {
        return;
      }
      int at = Arrays.binarySearch(docs, next, docs.length, blockDocs[0]);
      if (at < 0) {
        at = Arrays.binarySearch(docs, 0, next, blockDocs[0]); // asked again from the start
      }
      if (at < 0 || at + n > docs.length) {
        throw new IllegalStateException("document " + blockDocs[0] + " is not in the packed filter");
      }
      if (positions.length < n) {
        positions = new int[n];
      }
      for (int j = 0; j < n; j++) {
        if (docs[at + j] != blockDocs[j]) {
          throw new IllegalStateException("document " + blockDocs[j] + " is not in the packed filter");
        }
        positions[j] = at + j;
      }
      next = at + n;
      dots.dots(positions, n, out);
      for (int j = 0; j < n; j++) {
        err[j] = Math.nextUp(targetNorm * bounds[positions[j]]);
      }
    }

    @Override
    public float exactSimilarity(int doc) throws IOException {
      one[0] = doc;
      exact.similarities(one, 1, oneOut);
      return oneOut[0];
    }

    @Override
    public VectorScans.Path path() {
      return VectorScans.Path.PACKED;
    }
  }
}
