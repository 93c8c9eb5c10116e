package io.lookalike.solr;

import java.io.IOException;
import org.apache.lucene.index.FloatVectorValues;

/**
 * The similarity of a segment's documents, however the vector is read. {@link VectorScans#open}
 * picks one implementation per segment; all of them compute it with {@link
 * TargetSimilarity#similarity(TargetSimilarity.DocVector)} (or its block form, the same sums), so
 * they differ only in float rounding.
 */
interface VectorScan {
  /** Similarity of the current document of the iterator this scan was opened on. */
  float similarity() throws IOException;

  /**
   * True when any document's vector can be read by its id, without moving the iterator (dense
   * values in the mapped file): then {@link #similarities} scores blocks of documents at once.
   */
  default boolean byDocId() {
    return false;
  }

  /**
   * {@code out[j]} = similarity of document {@code docs[j]}, {@code j < n}, ids ascending; only
   * when {@link #byDocId()}.
   */
  default void similarities(int[] docs, int n, float[] out) throws IOException {
    throw new UnsupportedOperationException("this scan reads only the iterator's document");
  }

  /** Which way vectors are read, for the log and {@code explain}. */
  VectorScans.Path path();
}
