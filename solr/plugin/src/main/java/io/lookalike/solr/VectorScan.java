package io.lookalike.solr;

import java.io.IOException;
import org.apache.lucene.index.FloatVectorValues;

/**
 * The similarity of the document a segment's {@link FloatVectorValues} iterator is on, however
 * the vector is read. {@link VectorScans#open} picks one implementation per segment; all of them
 * compute it with {@link TargetSimilarity#similarity(TargetSimilarity.DocVector)}, so they differ
 * only in float rounding.
 */
interface VectorScan {
  /** Similarity of the current document of the iterator this scan was opened on. */
  float similarity() throws IOException;

  /** Which way vectors are read, for the log and {@code explain}. */
  VectorScans.Path path();
}
