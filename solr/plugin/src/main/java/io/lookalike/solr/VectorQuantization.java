package io.lookalike.solr;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswScalarQuantizedVectorsFormat;
import org.apache.solr.common.SolrException;

/**
 * How a vector field's HNSW graph stores the vectors it searches: Lucene 9.12's scalar quantized
 * HNSW format at 7 bits (one byte a dimension) or 4 bits (half a byte: {@code compress=true}
 * packs two dimensions in a byte). The format keeps the float32 vectors too, in the same {@code
 * .vec} file a float field has; the quantized copy is in {@code .veq} and its metadata in {@code
 * .vemq}. The graph search reads only the quantized copy; merges and the exact path read the
 * floats.
 */
enum VectorQuantization {
  INT7(7, false),
  INT4(4, true);

  /** Lucene's default confidence interval (null): the quantiles are chosen from the data. */
  private static final Float CONFIDENCE_INTERVAL = null;

  final int bits;
  final boolean compress;

  VectorQuantization(int bits, boolean compress) {
    this.bits = bits;
    this.compress = compress;
  }

  /** The name in the schema ({@code int7}, {@code int4}). */
  String schemaName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The value of a field type's {@code quantization} attribute; a 400 naming the choices. */
  static VectorQuantization parse(String value) {
    String choices =
        Arrays.stream(values()).map(VectorQuantization::schemaName).collect(Collectors.joining(", "));
    if (value == null || value.isBlank()) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "a quantized vector field type needs quantization=" + choices.replace(", ", "|"));
    }
    for (VectorQuantization q : values()) {
      if (q.schemaName().equals(value.trim().toLowerCase(Locale.ROOT))) {
        return q;
      }
    }
    throw new SolrException(
        SolrException.ErrorCode.BAD_REQUEST,
        "quantization must be one of " + choices + ", got '" + value + "'");
  }

  /**
   * The per-field format: Lucene's scalar quantized HNSW with these graph parameters, allowing
   * {@code dims} dimensions, its merged graphs built by {@code workers}.
   */
  KnnVectorsFormat format(int maxConn, int beamWidth, int dims, MergeWorkers workers) {
    KnnVectorsFormat lucene =
        new Lucene99HnswScalarQuantizedVectorsFormat(
            maxConn,
            beamWidth,
            workers.count,
            bits,
            compress,
            CONFIDENCE_INTERVAL,
            workers.executor());
    return new FieldVectorsFormat(lucene, dims, workers.count);
  }
}
