package io.lookalike.solr;

import java.util.function.Function;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.solr.common.SolrException;
import org.apache.solr.core.SchemaCodecFactory;
import org.apache.solr.core.SolrCore;
import org.apache.solr.schema.FieldType;
import org.apache.solr.schema.SchemaField;

/**
 * Solr's {@link SchemaCodecFactory} (postings, doc values and float HNSW vectors per field, as the
 * schema says), plus Lucene's scalar quantized HNSW format for the fields of a {@link
 * QuantizedDenseVectorField} type. Every other field gets exactly the format it gets today.
 *
 * <p>The codec written into a segment is still named {@code Lucene912} and each vector field
 * records its own format by name ({@code Lucene99HnswVectorsFormat} or {@code
 * Lucene99HnswScalarQuantizedVectorsFormat}), so reading a segment needs nothing of this plugin.
 */
public class LookalikeCodecFactory extends SchemaCodecFactory {
  private volatile SolrCore core;
  private volatile Codec codec;

  @Override
  public void inform(SolrCore core) {
    super.inform(core);
    this.core = core;
  }

  @Override
  public Codec getCodec() {
    Codec c = codec;
    if (c == null) {
      c = withQuantizedVectors(super.getCodec(), this::quantizedFormat);
      codec = c;
    }
    return c;
  }

  /** The quantized format of {@code field}, or null when its type is not quantized. */
  private KnnVectorsFormat quantizedFormat(String field) {
    SchemaField schemaField = core.getLatestSchema().getFieldOrNull(field);
    FieldType type = schemaField == null ? null : schemaField.getType();
    return type instanceof QuantizedDenseVectorField q ? q.knnVectorsFormat() : null;
  }

  /**
   * {@code base} with the vector format of each field from {@code quantized} where it answers one,
   * else from {@code base} as before.
   */
  static Codec withQuantizedVectors(Codec base, Function<String, KnnVectorsFormat> quantized) {
    if (!(base instanceof Lucene912Codec lucene)) {
      throw new SolrException(
          SolrException.ErrorCode.SERVER_ERROR,
          "LookalikeCodecFactory expects Solr's Lucene912 codec, got " + base.getName());
    }
    KnnVectorsFormat perField =
        new PerFieldKnnVectorsFormat() {
          @Override
          public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
            KnnVectorsFormat format = quantized.apply(field);
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
