package io.lookalike.solr;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.apache.lucene.codecs.lucene99.OffHeapQuantizedByteVectorValues;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.MemorySegmentAccessInput;
import org.apache.lucene.util.quantization.ScalarQuantizer;

/**
 * Lucene's quantized dot product, read where the quantized vectors lie (the memory-mapped {@code
 * .veq} data of Lucene 9.12's scalar quantized format) with the Vector API, several documents per
 * pass over the quantized query.
 *
 * <p>The layout, from {@code OffHeapQuantizedByteVectorValues} (and checked against its {@code
 * vectorValue(ord)} and {@code getScoreCorrectionConstant(ord)} in QuantizedCandidatesQueryTest):
 * per vector, ordinal after ordinal, {@code getVectorByteLength()} bytes and then its score
 * correction, a little-endian float. int7 stores one byte (0..127) per dimension; int4 with
 * {@code compress=true} (ours) two dimensions per byte: byte {@code i} holds dimension {@code i} in
 * its high nibble and dimension {@code i + dims / 2} in its low nibble (not neighbouring
 * dimensions), which is what {@code decompressBytes} undoes.
 *
 * <p>The estimate is Lucene's ({@code Lucene99ScalarQuantizedVectorScorer}, DOT_PRODUCT): {@code
 * dot(query bytes, document bytes) * constantMultiplier + queryCorrection + documentCorrection},
 * the value it then maps to {@code max(0, (1 + x) / 2)}. The query is quantized with the segment's
 * own quantiles ({@code ScalarQuantizer.quantize}), so estimates of different segments estimate
 * the same cosine and can be ranked together.
 *
 * <p>The integer dot product: int7 converts each byte to a float and multiplies with the query's
 * bytes as floats (FMA): products are below 2^14, so up to 1040 dimensions (the sum below 2^24)
 * the floats hold the exact integer, and wider vectors round by a float's last bit, nothing that
 * changes a choice of candidates. (On a 128-bit SIMD machine there are no 4-byte vectors to widen:
 * int7 segments are not scanned there.) int4 widens the packed bytes to shorts, cuts out the
 * nibbles and multiplies with the query's (products at most 225), adding into short lanes that
 * are widened into ints before they could overflow: exact at any width.
 *
 * <p>Java 22+ only, loaded by name from {@link QuantizedScans} like {@link MappedVectorScan}; the
 * private wrapper of the quantized values is opened by {@link
 * MappedVectorScan#quantizedValuesOf}. {@link Opener} answers null for anything it does not know:
 * another format, a sparse segment (ordinal != document), a slice that is not mmapped or not one
 * memory segment, a layout whose length does not add up, another similarity.
 */
abstract class MappedQuantizedScan implements QuantizedScan {
  private static final ValueLayout.OfFloat FLOAT_LE =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  /** As many bytes as {@link #FLOATS} has lanes (null where no such shape: 128-bit machines). */
  private static final VectorSpecies<Byte> BYTES_FOR_FLOATS = bytes(FLOATS.length());

  private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, SHORTS.vectorShape());
  private static final VectorSpecies<Byte> BYTES_FOR_SHORTS = bytes(SHORTS.length());

  /**
   * Short lanes take at most 2 * 15 * 15 per step: flushed into ints after this many (72 * 450 <
   * 2^15), so 256 dimensions are 4 steps at 512 bits, 8 at 256.
   */
  private static final int STEPS_PER_FLUSH = 72;

  private static VectorSpecies<Byte> bytes(int lanes) {
    try {
      return VectorSpecies.of(byte.class, VectorShape.forBitSize(lanes * Byte.SIZE));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** Looked up by name from {@link QuantizedScans}: a public no-argument constructor. */
  public static final class Opener implements QuantizedScans.Opener {
    public Opener() {}

    @Override
    public QuantizedScan open(LeafReader reader, String field, float[] unitTarget)
        throws IOException {
      FieldInfo info = reader.getFieldInfos().fieldInfo(field);
      if (info == null
          || info.getVectorDimension() != unitTarget.length
          || info.getVectorEncoding() != VectorEncoding.FLOAT32
          || info.getVectorSimilarityFunction() != VectorSimilarityFunction.DOT_PRODUCT) {
        return null;
      }
      FloatVectorValues values = reader.getFloatVectorValues(field);
      OffHeapQuantizedByteVectorValues quantized = MappedVectorScan.quantizedValuesOf(values);
      if (!(quantized instanceof OffHeapQuantizedByteVectorValues.DenseOffHeapVectorValues)
          || quantized.size() != reader.maxDoc()
          || quantized.dimension() != unitTarget.length) {
        return null; // another format (flat flushes), sparse, empty, a wrapped reader, ...
      }
      int dims = unitTarget.length;
      int vectorBytes = quantized.getVectorByteLength();
      ScalarQuantizer quantizer = quantized.getScalarQuantizer();
      IndexInput slice = quantized.getSlice();
      if (!(slice instanceof MemorySegmentAccessInput mapped)) {
        return null; // not mmapped (ByteBuffersDirectory, NRTCachingDirectory's RAM cache)
      }
      long stride = (long) vectorBytes + Float.BYTES;
      long length = stride * quantized.size();
      if (slice.length() != length) {
        return null; // not the layout we know: bytes and a float correction per vector
      }
      MemorySegment data = mapped.segmentSliceOrNull(0, length);
      if (data == null) {
        return null; // the vectors span two mmap chunks
      }
      byte[] query = new byte[dims];
      float correction = quantizer.quantize(unitTarget, query, VectorSimilarityFunction.DOT_PRODUCT);
      Layout layout =
          new Layout(data, stride, vectorBytes, quantizer.getConstantMultiplier(), correction);
      int bits = quantizer.getBits();
      if (vectorBytes == dims && bits <= 7 && BYTES_FOR_FLOATS != null) {
        return new OneBytePerDimension(layout, query, "int" + bits);
      }
      if (vectorBytes * 2 == dims && bits <= 4 && BYTES_FOR_SHORTS != null) {
        return new TwoDimensionsPerByte(layout, query, "int" + bits + " packed");
      }
      return null;
    }

    @Override
    public String toString() {
      return FLOATS.vectorBitSize() + "-bit";
    }
  }

  /** Where a segment's quantized vectors are and how to turn a dot product into an estimate. */
  private record Layout(
      MemorySegment data, long stride, int vectorBytes, float multiplier, float queryCorrection) {}

  final MemorySegment data;
  private final long stride; // bytes from one vector to the next: its bytes and its correction
  private final int vectorBytes;
  private final float multiplier;
  private final float queryCorrection;
  private final String description;

  private MappedQuantizedScan(Layout layout, String description) {
    this.data = layout.data();
    this.stride = layout.stride();
    this.vectorBytes = layout.vectorBytes();
    this.multiplier = layout.multiplier();
    this.queryCorrection = layout.queryCorrection();
    this.description = description;
  }

  /**
   * Four documents per pass over the query (one load of the query feeds four, and four vectors'
   * loads are in flight together: a filter's survivors are scattered, so the scan waits on memory
   * more than it computes), then the corrections.
   */
  @Override
  public void dotProducts(int[] docs, int n, float[] out) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      dot4(docs[j] * stride, docs[j + 1] * stride, docs[j + 2] * stride, docs[j + 3] * stride, out, j);
    }
    for (; j < n; j++) {
      out[j] = dot(docs[j] * stride);
    }
    for (j = 0; j < n; j++) {
      float documentCorrection = data.get(FLOAT_LE, docs[j] * stride + vectorBytes);
      out[j] = out[j] * multiplier + queryCorrection + documentCorrection;
    }
  }

  @Override
  public String describe() {
    return description;
  }

  /** The integer dot product of the query with the vector at byte {@code offset}. */
  abstract float dot(long offset);

  /** {@link #dot} of four vectors into {@code out[j..j+3]}. */
  void dot4(long o0, long o1, long o2, long o3, float[] out, int j) {
    out[j] = dot(o0);
    out[j + 1] = dot(o1);
    out[j + 2] = dot(o2);
    out[j + 3] = dot(o3);
  }

  /** int7 (and int4 without packing): a byte per dimension, multiplied as floats. */
  private static final class OneBytePerDimension extends MappedQuantizedScan {
    private static final int LANES = FLOATS.length();
    private final float[] query; // the quantized query's bytes (0..127) as floats

    OneBytePerDimension(Layout layout, byte[] query, String description) {
      super(layout, description);
      this.query = new float[query.length];
      for (int i = 0; i < query.length; i++) {
        this.query[i] = query[i];
      }
    }

    @Override
    float dot(long offset) {
      int dims = query.length;
      FloatVector acc0 = FloatVector.zero(FLOATS);
      FloatVector acc1 = FloatVector.zero(FLOATS);
      int i = 0;
      for (int bound = dims - 2 * LANES; i <= bound; i += 2 * LANES) {
        acc0 = load(offset + i).fma(queryAt(i), acc0);
        acc1 = load(offset + i + LANES).fma(queryAt(i + LANES), acc1);
      }
      for (int bound = dims - LANES; i <= bound; i += LANES) {
        acc0 = load(offset + i).fma(queryAt(i), acc0);
      }
      float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
      for (; i < dims; i++) {
        sum += query[i] * data.get(ValueLayout.JAVA_BYTE, offset + i);
      }
      return sum;
    }

    @Override
    void dot4(long o0, long o1, long o2, long o3, float[] out, int j) {
      int dims = query.length;
      FloatVector a0 = FloatVector.zero(FLOATS);
      FloatVector a1 = FloatVector.zero(FLOATS);
      FloatVector a2 = FloatVector.zero(FLOATS);
      FloatVector a3 = FloatVector.zero(FLOATS);
      int i = 0;
      for (int bound = dims - LANES; i <= bound; i += LANES) {
        FloatVector q = queryAt(i);
        a0 = load(o0 + i).fma(q, a0);
        a1 = load(o1 + i).fma(q, a1);
        a2 = load(o2 + i).fma(q, a2);
        a3 = load(o3 + i).fma(q, a3);
      }
      float s0 = a0.reduceLanes(VectorOperators.ADD);
      float s1 = a1.reduceLanes(VectorOperators.ADD);
      float s2 = a2.reduceLanes(VectorOperators.ADD);
      float s3 = a3.reduceLanes(VectorOperators.ADD);
      for (; i < dims; i++) {
        s0 += query[i] * data.get(ValueLayout.JAVA_BYTE, o0 + i);
        s1 += query[i] * data.get(ValueLayout.JAVA_BYTE, o1 + i);
        s2 += query[i] * data.get(ValueLayout.JAVA_BYTE, o2 + i);
        s3 += query[i] * data.get(ValueLayout.JAVA_BYTE, o3 + i);
      }
      out[j] = s0;
      out[j + 1] = s1;
      out[j + 2] = s2;
      out[j + 3] = s3;
    }

    private FloatVector queryAt(int i) {
      return FloatVector.fromArray(FLOATS, query, i);
    }

    /** {@code LANES} bytes from {@code offset}, as floats. */
    private FloatVector load(long offset) {
      return (FloatVector)
          ByteVector.fromMemorySegment(BYTES_FOR_FLOATS, data, offset, LE)
              .convertShape(VectorOperators.B2F, FLOATS, 0);
    }
  }

  /** int4 packed: byte i holds dimension i (high nibble) and i + dims / 2 (low nibble). */
  private static final class TwoDimensionsPerByte extends MappedQuantizedScan {
    private static final int LANES = SHORTS.length();
    private final short[] high; // the query's dimensions [0, dims/2): the high nibbles' partners
    private final short[] low; // its dimensions [dims/2, dims): the low nibbles' partners
    private final boolean fourAtOnce; // every lane's sum of a vector fits a short

    TwoDimensionsPerByte(Layout layout, byte[] query, String description) {
      super(layout, description);
      int half = query.length / 2;
      fourAtOnce = half / LANES <= STEPS_PER_FLUSH;
      high = new short[half];
      low = new short[half];
      for (int i = 0; i < half; i++) {
        high[i] = query[i];
        low[i] = query[half + i];
      }
    }

    @Override
    float dot(long offset) {
      int half = high.length;
      IntVector total = IntVector.zero(INTS);
      int i = 0;
      for (int bound = half - LANES; i <= bound; ) {
        ShortVector acc = ShortVector.zero(SHORTS);
        for (int steps = 0; steps < STEPS_PER_FLUSH && i <= bound; steps++, i += LANES) {
          acc = step(offset + i, i, acc);
        }
        total = flush(acc, total);
      }
      int sum = total.reduceLanes(VectorOperators.ADD);
      for (; i < half; i++) {
        sum += scalar(offset + i, i);
      }
      return sum;
    }

    /**
     * Four documents in short lanes, widened once at the end: only where no lane can overflow
     * ({@link #fourAtOnce}; a loop that also flushed on the way was too large for C2 to inline,
     * and boxed every vector). Wider vectors are read one at a time by {@link #dot}.
     */
    @Override
    void dot4(long o0, long o1, long o2, long o3, float[] out, int j) {
      if (!fourAtOnce) {
        super.dot4(o0, o1, o2, o3, out, j);
        return;
      }
      int half = high.length;
      ShortVector a0 = ShortVector.zero(SHORTS);
      ShortVector a1 = a0;
      ShortVector a2 = a0;
      ShortVector a3 = a0;
      int i = 0;
      for (int bound = half - LANES; i <= bound; i += LANES) {
        a0 = step(o0 + i, i, a0);
        a1 = step(o1 + i, i, a1);
        a2 = step(o2 + i, i, a2);
        a3 = step(o3 + i, i, a3);
      }
      // flush(...) written out: as calls they were past C2's node count for inlining, and boxed
      IntVector p0 = a0.reinterpretAsInts();
      IntVector p1 = a1.reinterpretAsInts();
      IntVector p2 = a2.reinterpretAsInts();
      IntVector p3 = a3.reinterpretAsInts();
      int s0 = p0.and(0xFFFF).add(p0.lanewise(VectorOperators.LSHR, 16)).reduceLanes(VectorOperators.ADD);
      int s1 = p1.and(0xFFFF).add(p1.lanewise(VectorOperators.LSHR, 16)).reduceLanes(VectorOperators.ADD);
      int s2 = p2.and(0xFFFF).add(p2.lanewise(VectorOperators.LSHR, 16)).reduceLanes(VectorOperators.ADD);
      int s3 = p3.and(0xFFFF).add(p3.lanewise(VectorOperators.LSHR, 16)).reduceLanes(VectorOperators.ADD);
      for (; i < half; i++) {
        s0 += scalar(o0 + i, i);
        s1 += scalar(o1 + i, i);
        s2 += scalar(o2 + i, i);
        s3 += scalar(o3 + i, i);
      }
      out[j] = s0;
      out[j + 1] = s1;
      out[j + 2] = s2;
      out[j + 3] = s3;
    }

    /**
     * {@code acc} plus the products of {@code LANES} packed bytes from {@code offset}. The bytes
     * are widened to shorts first and the nibbles cut there: x86 has no byte shift (a byte LSHR
     * measured twice as slow a scan); {@code (s >> 4) & 0xF} is the high nibble of a sign-extended
     * byte too.
     */
    private ShortVector step(long offset, int i, ShortVector acc) {
      ShortVector packed =
          (ShortVector)
              ByteVector.fromMemorySegment(BYTES_FOR_SHORTS, data, offset, LE)
                  .convertShape(VectorOperators.B2S, SHORTS, 0);
      ShortVector hi = packed.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F);
      ShortVector lo = packed.and((short) 0x0F);
      return acc.add(hi.mul(ShortVector.fromArray(SHORTS, high, i)))
          .add(lo.mul(ShortVector.fromArray(SHORTS, low, i)));
    }

    /**
     * {@code total} plus the short lanes of {@code acc} as ints: each int of the reinterpreted
     * lanes holds two non-negative shorts. (Widening with {@code convertShape(S2I, ..., part)}
     * made the four-document loop too large for C2 to inline, and every vector was boxed.)
     */
    private static IntVector flush(ShortVector acc, IntVector total) {
      IntVector pairs = acc.reinterpretAsInts();
      return total.add(pairs.and(0xFFFF)).add(pairs.lanewise(VectorOperators.LSHR, 16));
    }

    private int scalar(long offset, int i) {
      int b = data.get(ValueLayout.JAVA_BYTE, offset) & 0xFF;
      return (b >>> 4) * high[i] + (b & 0x0F) * low[i];
    }
  }
}
