package io.lookalike.solr;

import java.util.Map;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.index.VectorEncoding;
import org.apache.solr.common.SolrException;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.IndexSchema;

/**
 * A {@link DenseVectorField} whose HNSW graph searches scalar-quantized vectors: {@code
 * quantization="int7"} or {@code "int4"} beside the usual attributes. Everything else (parsing,
 * {@code {!knn}}, stored values, the plugin's exact path) is the float field's: the float32
 * vectors stay in the index. {@link LookalikeCodecFactory} gives its fields the quantized format;
 * under any other codec factory it would be written as a float field, so the configset must name
 * that factory.
 */
public class QuantizedDenseVectorField extends DenseVectorField {
  public static final String QUANTIZATION = "quantization";

  private VectorQuantization quantization;

  @Override
  public void init(IndexSchema schema, Map<String, String> args) {
    quantization = VectorQuantization.parse(args.remove(QUANTIZATION));
    super.init(schema, args);
    if (getVectorEncoding() != VectorEncoding.FLOAT32) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "quantization applies to float32 vectors; this field type has vectorEncoding="
              + getVectorEncoding());
    }
    if (quantization.compress && getDimension() % 2 != 0) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "quantization="
              + quantization.schemaName()
              + " packs two dimensions in a byte and needs an even vectorDimension, got "
              + getDimension());
    }
    if (!HNSW_ALGORITHM.equals(getKnnAlgorithm())) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "quantization applies to knnAlgorithm=hnsw, got " + getKnnAlgorithm());
    }
  }

  /** int7 or int4. */
  public String getQuantization() {
    return quantization.schemaName();
  }

  /** The format the codec gives this type's fields, its merged graphs built by {@code workers}. */
  KnnVectorsFormat knnVectorsFormat(MergeWorkers workers) {
    return quantization.format(getHnswMaxConn(), getHnswBeamWidth(), getDimension(), workers);
  }
}
