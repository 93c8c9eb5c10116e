package io.lookalike.solr;

import java.io.IOException;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;

/**
 * Lucene's format under its own name (so a reader finds it by name, without this plugin), with
 * the field's width as the most dimensions it takes (Lucene's own formats say 1024, and their
 * getter is final), as Solr's SchemaCodecFactory wraps its float format. {@link #toString()} names
 * the merge workers, which Lucene's formats do not print.
 */
final class FieldVectorsFormat extends KnnVectorsFormat {
  private final KnnVectorsFormat delegate;
  private final int maxDimensions;
  private final int mergeWorkers;

  FieldVectorsFormat(KnnVectorsFormat delegate, int maxDimensions, int mergeWorkers) {
    super(delegate.getName());
    this.delegate = delegate;
    this.maxDimensions = maxDimensions;
    this.mergeWorkers = mergeWorkers;
  }

  @Override
  public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
    return delegate.fieldsWriter(state);
  }

  @Override
  public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
    return delegate.fieldsReader(state);
  }

  @Override
  public int getMaxDimensions(String fieldName) {
    return maxDimensions;
  }

  int mergeWorkers() {
    return mergeWorkers;
  }

  @Override
  public String toString() {
    return delegate + " mergeWorkers=" + mergeWorkers;
  }
}
