package io.lookalike.solr;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.apache.lucene.codecs.lucene95.OffHeapFloatVectorValues;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.MemorySegmentAccessInput;

/**
 * Reads each document vector where it lies, in the memory-mapped {@code .vec} file, instead of
 * copying it to a {@code float[]} first: dot products load the file's little-endian floats
 * straight into SIMD registers ({@code FloatVector.fromMemorySegment}) and multiply them with the
 * targets.
 *
 * <p>Java 22+ only (the final foreign-memory API and the incubating Vector API): this file lives
 * in {@code src/main/java22}, is compiled by a Maven profile active on JDK 22+, and is loaded by
 * name from {@link VectorScans}, only on a JVM that can link it. Used only for Lucene's dense
 * off-heap values (every document of the segment has a vector, so the ordinal of the vector of
 * document {@code d} is {@code d} and it starts at byte {@code d * dims * 4}); {@link Opener}
 * answers null for anything else and the caller copies as before.
 *
 * <p>A field in Lucene's scalar quantized HNSW format ({@link VectorQuantization}) keeps the
 * same float32 {@code .vec} data, but its reader hands them out wrapped with the quantized copy
 * ({@code Lucene99ScalarQuantizedVectorsReader.QuantizedVectorValues}, private, with no getter):
 * {@link #floatValuesOf} reads the wrapped dense values out of it once per segment, so a quantized
 * collection's exact path is read in place too. Should a Lucene version rename that field, the
 * lookup fails once at class load and those segments are copied as before (tested in
 * QuantizedVectorsTest).
 *
 * <p>The mapped memory belongs to the segment's open index input: it stays valid while the
 * reader the query runs on is open, which is as long as the scorer lives.
 */
final class MappedVectorScan implements VectorScan, TargetSimilarity.DocVector {
  private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();
  private static final VectorShuffle<Float>[] FOLDS = folds();
  private static final ValueLayout.OfFloat FLOAT_LE =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** Looked up by name from {@link VectorScans}: a public no-argument constructor. */
  public static final class Opener implements VectorScans.Opener {
    public Opener() {}

    @Override
    public VectorScan open(FloatVectorValues outer, TargetSimilarity similarity)
        throws IOException {
      FloatVectorValues values = floatValuesOf(outer);
      if (!(values instanceof OffHeapFloatVectorValues.DenseOffHeapVectorValues dense)) {
        return null; // sparse, quantized, empty, wrapped (ExitableDirectoryReader), ...
      }
      IndexInput slice = dense.getSlice();
      if (!(slice instanceof MemorySegmentAccessInput mapped)) {
        return null; // not mmapped (ByteBuffersDirectory, NRTCachingDirectory's RAM cache)
      }
      long vectorBytes = (long) dense.dimension() * Float.BYTES;
      long bytes = vectorBytes * dense.size();
      if (slice.length() != bytes) {
        return null; // not the layout we know: one packed float32 vector per document
      }
      MemorySegment segment = mapped.segmentSliceOrNull(0, bytes);
      if (segment == null) {
        return null; // the vectors span two mmap chunks
      }
      return new MappedVectorScan(dense, dense.dimension(), segment, similarity);
    }

    @Override
    public CodeScan openCodes(byte[] codes, float[] scales, int dims, float[] target) {
      return new CodeDots(codes, scales, dims, target);
    }

    @Override
    public String toString() {
      return SPECIES.vectorBitSize() + "-bit";
    }
  }

  /** Lucene's private wrapper of a quantized field's float values, and its float values. */
  private static final Class<?> QUANTIZED_VALUES;

  private static final VarHandle RAW_VALUES;

  static {
    Class<?> owner = null;
    VarHandle raw = null;
    try {
      owner =
          Class.forName(
              "org.apache.lucene.codecs.lucene99.Lucene99ScalarQuantizedVectorsReader$QuantizedVectorValues",
              false,
              FloatVectorValues.class.getClassLoader());
      raw =
          MethodHandles.privateLookupIn(owner, MethodHandles.lookup())
              .findVarHandle(owner, "rawVectorValues", FloatVectorValues.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      owner = null;
    }
    QUANTIZED_VALUES = owner;
    RAW_VALUES = raw;
  }

  /**
   * The float values a quantized field's values wrap (they move with it: the wrapper's {@code
   * nextDoc}/{@code advance} move both), else {@code values} itself.
   */
  static FloatVectorValues floatValuesOf(FloatVectorValues values) {
    if (QUANTIZED_VALUES != null && QUANTIZED_VALUES.isInstance(values)) {
      return (FloatVectorValues) RAW_VALUES.get(values);
    }
    return values;
  }

  private final FloatVectorValues values;
  private final MemorySegment vectors; // the mapped file
  private final long vectorBytes;
  private final int dims;
  private final TargetSimilarity similarity;
  private long offset; // of the current document's vector in the mapped file

  private MappedVectorScan(
      FloatVectorValues values, int dims, MemorySegment vectors, TargetSimilarity similarity) {
    this.values = values;
    this.vectors = vectors;
    this.dims = dims;
    this.vectorBytes = (long) dims * Float.BYTES;
    this.similarity = similarity;
  }

  @Override
  public float similarity() {
    offset = values.docID() * vectorBytes; // dense: ordinal == document
    return similarity.similarity(this);
  }

  @Override
  public boolean byDocId() {
    return true;
  }

  /**
   * A block's documents whose ids span at most this many times their number are read as one
   * stretch of the file ({@link #similarities}).
   */
  static final int DENSE_SPAN = 3;

  private float[] span = new float[0]; // the stretch's similarities, reused

  /**
   * A block of documents. For a plain dot product, two kernels with the same sums (so a document
   * scores the same bits whichever reads it):
   *
   * <ul>
   *   <li>documents side by side, or nearly (their ids span at most {@link #DENSE_SPAN} times
   *       their number: a dense filter): every vector of the stretch one after the
   *       other ({@link #dot1}), those between the block's documents too, as the CPU's prefetcher
   *       streams a stretch and stalls on gaps. Measured at 500k x 256, one thread: all documents
   *       in 23-31 ms this way against 67-74 ms four at a time; 60% of them 26 ms against 50-53
   *       ms picking each.
   *   <li>scattered documents: four per pass over the target ({@link #dot4}): one load of the
   *       target feeds four FMAs and four vectors' loads are in flight together, which hides the
   *       memory latency of a filter's scattered survivors (10% of 500k: 8.5 ms against 12-14 ms
   *       one at a time).
   * </ul>
   *
   * Otherwise one document after the other through the shared formula.
   */
  @Override
  public void similarities(int[] docs, int n, float[] out) {
    float[] target = similarity.plainDotTarget();
    if (target == null) {
      for (int j = 0; j < n; j++) {
        offset = docs[j] * vectorBytes;
        out[j] = similarity.similarity(this);
      }
      return;
    }
    if (n == 0) {
      return;
    }
    int first = docs[0];
    int width = docs[n - 1] - first + 1; // n: side by side
    if (width <= DENSE_SPAN * n) {
      if (span.length < width) {
        span = new float[width];
      }
      for (int d = 0; d < width; d++) {
        span[d] = dot1(target, (first + d) * vectorBytes);
      }
      for (int j = 0; j < n; j++) {
        out[j] = span[docs[j] - first];
      }
      return;
    }
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      dot4(target, docs, j, out);
    }
    for (; j < n; j++) {
      out[j] = dot1(target, docs[j] * vectorBytes);
    }
  }

  /** {@code target . v} for the vector at byte {@code o}, summed exactly as {@link #dot4} does. */
  private float dot1(float[] target, long o) {
    int dims = target.length;
    FloatVector a = FloatVector.zero(SPECIES);
    int i = 0;
    for (int bound = dims - LANES; i <= bound; i += LANES) {
      a = load(target, i).fma(load(o + (long) i * Float.BYTES), a);
    }
    float s = sum(a);
    for (; i < dims; i++) {
      s += target[i] * vectors.get(FLOAT_LE, o + (long) i * Float.BYTES);
    }
    return s;
  }

  private void dot4(float[] target, int[] docs, int j, float[] out) {
    long o0 = docs[j] * vectorBytes;
    long o1 = docs[j + 1] * vectorBytes;
    long o2 = docs[j + 2] * vectorBytes;
    long o3 = docs[j + 3] * vectorBytes;
    int dims = target.length;
    FloatVector a0 = FloatVector.zero(SPECIES);
    FloatVector a1 = FloatVector.zero(SPECIES);
    FloatVector a2 = FloatVector.zero(SPECIES);
    FloatVector a3 = FloatVector.zero(SPECIES);
    int i = 0;
    for (int bound = dims - LANES; i <= bound; i += LANES) {
      FloatVector t = load(target, i);
      long at = (long) i * Float.BYTES;
      a0 = t.fma(load(o0 + at), a0);
      a1 = t.fma(load(o1 + at), a1);
      a2 = t.fma(load(o2 + at), a2);
      a3 = t.fma(load(o3 + at), a3);
    }
    float s0 = sum(a0);
    float s1 = sum(a1);
    float s2 = sum(a2);
    float s3 = sum(a3);
    for (; i < dims; i++) {
      long at = (long) i * Float.BYTES;
      s0 += target[i] * vectors.get(FLOAT_LE, o0 + at);
      s1 += target[i] * vectors.get(FLOAT_LE, o1 + at);
      s2 += target[i] * vectors.get(FLOAT_LE, o2 + at);
      s3 += target[i] * vectors.get(FLOAT_LE, o3 + at);
    }
    out[j] = s0;
    out[j + 1] = s1;
    out[j + 2] = s2;
    out[j + 3] = s3;
  }

  @Override
  public float dot(float[] target) {
    return dot(target, offset);
  }

  @Override
  public float squaredNorm() {
    return dot(vectors, offset, vectors, offset);
  }

  @Override
  public VectorScans.Path path() {
    return VectorScans.Path.IN_PLACE;
  }

  /** {@code target . v} where {@code v} starts at byte {@code offset} of the mapped vectors. */
  private float dot(float[] target, long offset) {
    int dims = target.length; // == this.dims; bounding by the array lets the JIT drop its checks
    int i = 0;
    FloatVector acc0 = FloatVector.zero(SPECIES);
    FloatVector acc1 = FloatVector.zero(SPECIES);
    FloatVector acc2 = FloatVector.zero(SPECIES);
    FloatVector acc3 = FloatVector.zero(SPECIES);
    // Four independent sums so consecutive FMAs do not wait on each other.
    for (int bound = dims - 4 * LANES; i <= bound; i += 4 * LANES) {
      long at = offset + (long) i * Float.BYTES;
      acc0 = load(target, i).fma(load(at), acc0);
      acc1 = load(target, i + LANES).fma(load(at + LANES * Float.BYTES), acc1);
      acc2 = load(target, i + 2 * LANES).fma(load(at + 2 * LANES * Float.BYTES), acc2);
      acc3 = load(target, i + 3 * LANES).fma(load(at + 3 * LANES * Float.BYTES), acc3);
    }
    for (int bound = dims - LANES; i <= bound; i += LANES) {
      acc0 = load(target, i).fma(load(offset + (long) i * Float.BYTES), acc0);
    }
    float sum = sum(acc0.add(acc1).add(acc2.add(acc3)));
    for (; i < dims; i++) {
      sum += target[i] * vectors.get(FLOAT_LE, offset + (long) i * Float.BYTES);
    }
    return sum;
  }

  /** {@code a . b} for two vectors in memory segments (the squared norm when they are one). */
  private float dot(MemorySegment a, long aOffset, MemorySegment b, long bOffset) {
    int i = 0;
    FloatVector acc0 = FloatVector.zero(SPECIES);
    FloatVector acc1 = FloatVector.zero(SPECIES);
    for (int bound = dims - 2 * LANES; i <= bound; i += 2 * LANES) {
      long at = (long) i * Float.BYTES;
      acc0 = load(a, aOffset + at).fma(load(b, bOffset + at), acc0);
      long next = at + LANES * Float.BYTES;
      acc1 = load(a, aOffset + next).fma(load(b, bOffset + next), acc1);
    }
    float sum = sum(acc0.add(acc1));
    for (; i < dims; i++) {
      long at = (long) i * Float.BYTES;
      sum += a.get(FLOAT_LE, aOffset + at) * b.get(FLOAT_LE, bOffset + at);
    }
    return sum;
  }

  /**
   * The sum of {@code v}'s lanes, added in one order whoever runs it. {@code reduceLanes(ADD)}
   * leaves the order open, and it differs by tier: the interpreter adds one lane after the other,
   * the JIT's code as a tree, so a document's score changed in its last bits once its kernel was
   * compiled (measured: 129 of 200 sums of 256 dims). Here every step adds lane {@code i + w} to
   * lane {@code i}, for {@code w} = LANES/2, LANES/4, ... 1: lane-wise IEEE adds, the same bits in
   * every tier, and no slower (200k x 256 on AVX-512: 11.2 against 12.7 ms).
   */
  static float sum(FloatVector v) {
    if (FOLDS == null) { // a lane count not a power of two: one lane after the other
      float s = 0f;
      for (int i = 0; i < LANES; i++) {
        s += v.lane(i);
      }
      return s;
    }
    for (VectorShuffle<Float> fold : FOLDS) {
      v = v.add(v.rearrange(fold));
    }
    return v.lane(0);
  }

  /** The rotations {@link #sum} folds with, or null when LANES is not a power of two. */
  @SuppressWarnings("unchecked")
  private static VectorShuffle<Float>[] folds() {
    if (Integer.bitCount(LANES) != 1) {
      return null;
    }
    VectorShuffle<Float>[] folds = new VectorShuffle[Integer.numberOfTrailingZeros(LANES)];
    for (int k = 0; k < folds.length; k++) {
      folds[k] = VectorShuffle.iota(SPECIES, LANES >> (k + 1), 1, true);
    }
    return folds;
  }

  private static FloatVector load(float[] target, int i) {
    return FloatVector.fromArray(SPECIES, target, i);
  }

  private FloatVector load(long byteOffset) {
    return load(vectors, byteOffset);
  }

  private static FloatVector load(MemorySegment segment, long byteOffset) {
    return FloatVector.fromMemorySegment(SPECIES, segment, byteOffset, ByteOrder.LITTLE_ENDIAN);
  }
}
