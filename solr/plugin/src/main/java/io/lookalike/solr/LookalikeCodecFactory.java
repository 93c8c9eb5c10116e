package io.lookalike.solr;

import java.io.IOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.store.IOContext;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.core.CloseHook;
import org.apache.solr.core.SchemaCodecFactory;
import org.apache.solr.core.SolrCore;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.FieldType;
import org.apache.solr.schema.SchemaField;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Solr's {@link SchemaCodecFactory} (postings, doc values and float HNSW vectors per field, as the
 * schema says), plus Lucene's scalar quantized HNSW format for the fields of a {@link
 * QuantizedDenseVectorField} type, and several threads to build a merged segment's HNSW graph.
 *
 * <p>Every HNSW vector field, float or quantized, gets its type's {@code hnswMaxConnections} and
 * {@code hnswBeamWidth} and {@code mergeWorkers} threads for merges ({@code <int
 * name="mergeWorkers">} in the factory's solrconfig.xml element; default the number of processors,
 * at most 4; 1 is Lucene's single-threaded merge). The threads are one pool owned by the factory
 * and shut down when the core closes. Other fields get exactly the format Solr gives them.
 *
 * <p>With {@code <bool name="flatFlushes">true</bool>} (the products configset sets it from the
 * user property {@code lookalike.flatFlushes}, which a bulk load sets through the Config API while
 * it writes a new collection) the segments the core flushes keep their HNSW fields' vectors
 * without a graph ({@link FlatVectorsFormat}); merges still build graphs. A bulk load then builds
 * each graph once, in the force-merge after the write, with every merge worker, instead of once per
 * flushed segment on the indexing threads and again for most documents when merging. The setting
 * is kept per core name across reloads ({@link #flatFlushes(String)}): a reload may keep the
 * core's IndexWriter, and with it the codec of the factory before.
 *
 * <p>The codec written into a segment is still named {@code Lucene912} and each vector field
 * records its own format by name ({@code Lucene99HnswVectorsFormat} or {@code
 * Lucene99HnswScalarQuantizedVectorsFormat}); the merge workers are not written anywhere, so
 * reading a merged segment needs nothing of this plugin (a flushed flat one needs its {@link
 * FlatVectorsFormat}, registered with Lucene's SPI).
 */
public class LookalikeCodecFactory extends SchemaCodecFactory {
  private static final Logger log = LoggerFactory.getLogger(LookalikeCodecFactory.class);

  /** The init arg that makes flushed segments flat (no HNSW graph). */
  static final String FLAT_FLUSHES = "flatFlushes";

  /** Per core name: whether its flushed segments are flat. Tiny, so entries are never removed. */
  private static final ConcurrentHashMap<String, Boolean> FLAT_FLUSHES_BY_CORE =
      new ConcurrentHashMap<>();

  private int mergeWorkerCount = MergeWorkers.defaultCount();
  private boolean flatFlushes;
  private volatile SolrCore core;
  private volatile MergeWorkers mergeWorkers;
  private volatile Codec codec;

  @Override
  public void init(NamedList<?> args) {
    mergeWorkerCount = MergeWorkers.parseCount(args.get(MergeWorkers.PARAM));
    flatFlushes = parseFlag(args.get(FLAT_FLUSHES));
    super.init(args);
  }

  /** {@code <bool>}, or a {@code <str>} true/false (as a substituted property may arrive). */
  static boolean parseFlag(Object value) {
    if (value == null || value instanceof Boolean) {
      return value != null && (Boolean) value;
    }
    String text = value.toString().strip();
    if (text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false")) {
      return Boolean.parseBoolean(text);
    }
    throw new SolrException(
        SolrException.ErrorCode.SERVER_ERROR,
        FLAT_FLUSHES + " must be true or false, got '" + value + "'");
  }

  /** Whether the core named {@code core} flushes its HNSW fields flat, as last configured. */
  static boolean flatFlushes(String core) {
    return FLAT_FLUSHES_BY_CORE.getOrDefault(core, false);
  }

  /** The number of threads that build a merged HNSW graph. */
  public int getMergeWorkers() {
    return mergeWorkerCount;
  }

  @Override
  public void inform(SolrCore core) {
    super.inform(core);
    this.core = core;
    FLAT_FLUSHES_BY_CORE.put(core.getName(), flatFlushes);
    MergeWorkers workers = MergeWorkers.start(mergeWorkerCount);
    mergeWorkers = workers;
    core.addCloseHook(
        new CloseHook() {
          @Override
          public void postClose(SolrCore closed) {
            workers.close();
          }
        });
    log.info(
        "core {}: HNSW graphs merge with {} workers; flushed segments {}",
        core.getName(),
        workers.count,
        flatFlushes ? "flat (the graph is built when merging)" : "with their graph");
  }

  @Override
  public Codec getCodec() {
    Codec c = codec;
    if (c == null) {
      String name = core.getName();
      c = withVectorFormats(super.getCodec(), this::vectorFormat, () -> flatFlushes(name));
      codec = c;
    }
    return c;
  }

  /** The format of {@code field}, or null where Solr's own choice stands. */
  private KnnVectorsFormat vectorFormat(String field) {
    SchemaField schemaField = core.getLatestSchema().getFieldOrNull(field);
    return vectorFormat(schemaField == null ? null : schemaField.getType(), mergeWorkers);
  }

  /**
   * The format of a field of {@code type} with {@code workers}: the quantized format for a {@link
   * QuantizedDenseVectorField}, Lucene's float HNSW for an HNSW {@link DenseVectorField} (as Solr
   * builds it, with the workers), else null.
   */
  static KnnVectorsFormat vectorFormat(FieldType type, MergeWorkers workers) {
    if (type instanceof QuantizedDenseVectorField q) {
      return q.knnVectorsFormat(workers);
    }
    if (type instanceof DenseVectorField d && DenseVectorField.HNSW_ALGORITHM.equals(d.getKnnAlgorithm())) {
      return workers.floatFormat(d.getHnswMaxConn(), d.getHnswBeamWidth(), d.getDimension());
    }
    return null;
  }

  /**
   * {@code base} with the vector format of each field from {@code formats} where it answers one,
   * else from {@code base} as before; while {@code flatFlushes} says so, a segment written other
   * than by a merge keeps those fields in {@link FlatVectorsFormat} instead.
   */
  static Codec withVectorFormats(
      Codec base, Function<String, KnnVectorsFormat> formats, BooleanSupplier flatFlushes) {
    if (!(base instanceof Lucene912Codec lucene)) {
      throw new SolrException(
          SolrException.ErrorCode.SERVER_ERROR,
          "LookalikeCodecFactory expects Solr's Lucene912 codec, got " + base.getName());
    }
    KnnVectorsFormat flat = new FlatVectorsFormat();
    KnnVectorsFormat flushed =
        new PerFieldKnnVectorsFormat() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            return formats.apply(field) != null ? flat : lucene.getKnnVectorsFormatForField(field);
          }
        };
    KnnVectorsFormat perField =
        new PerFieldKnnVectorsFormat() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            KnnVectorsFormat format = formats.apply(field);
            return format != null ? format : lucene.getKnnVectorsFormatForField(field);
          }

          @Override
          public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
            // an indexing thread's segment is opened with IOContext.DEFAULT, a merge's with MERGE
            if (state.context.context != IOContext.Context.MERGE && flatFlushes.getAsBoolean()) {
              return flushed.fieldsWriter(state);
            }
            return super.fieldsWriter(state);
          }
        };
    return new FilterCodec(base.getName(), base) {
      @Override
      public KnnVectorsFormat knnVectorsFormat() {
        return perField;
      }
    };
  }
}
