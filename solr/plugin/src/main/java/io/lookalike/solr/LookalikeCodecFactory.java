package io.lookalike.solr;

import java.util.function.Function;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
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
 * <p>The codec written into a segment is still named {@code Lucene912} and each vector field
 * records its own format by name ({@code Lucene99HnswVectorsFormat} or {@code
 * Lucene99HnswScalarQuantizedVectorsFormat}); the merge workers are not written anywhere, so
 * reading a segment needs nothing of this plugin.
 */
public class LookalikeCodecFactory extends SchemaCodecFactory {
  private static final Logger log = LoggerFactory.getLogger(LookalikeCodecFactory.class);

  private int mergeWorkerCount = MergeWorkers.defaultCount();
  private volatile SolrCore core;
  private volatile MergeWorkers mergeWorkers;
  private volatile Codec codec;

  @Override
  public void init(NamedList<?> args) {
    mergeWorkerCount = MergeWorkers.parseCount(args.get(MergeWorkers.PARAM));
    super.init(args);
  }

  /** The number of threads that build a merged HNSW graph. */
  public int getMergeWorkers() {
    return mergeWorkerCount;
  }

  @Override
  public void inform(SolrCore core) {
    super.inform(core);
    this.core = core;
    MergeWorkers workers = MergeWorkers.start(mergeWorkerCount);
    mergeWorkers = workers;
    core.addCloseHook(
        new CloseHook() {
          @Override
          public void postClose(SolrCore closed) {
            workers.close();
          }
        });
    log.info("core {}: HNSW graphs merge with {} workers", core.getName(), workers.count);
  }

  @Override
  public Codec getCodec() {
    Codec c = codec;
    if (c == null) {
      c = withVectorFormats(super.getCodec(), this::vectorFormat);
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
   * else from {@code base} as before.
   */
  static Codec withVectorFormats(Codec base, Function<String, KnnVectorsFormat> formats) {
    if (!(base instanceof Lucene912Codec lucene)) {
      throw new SolrException(
          SolrException.ErrorCode.SERVER_ERROR,
          "LookalikeCodecFactory expects Solr's Lucene912 codec, got " + base.getName());
    }
    KnnVectorsFormat perField =
        new PerFieldKnnVectorsFormat() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            KnnVectorsFormat format = formats.apply(field);
            return format != null ? format : lucene.getKnnVectorsFormatForField(field);
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
