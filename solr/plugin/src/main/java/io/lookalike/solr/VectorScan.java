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

  /**
   * True when the scan reads a compressed copy of the vectors: {@link #approximations} instead of
   * {@link #similarities}, and {@link #exactSimilarity} for a document that may compete.
   */
  default boolean bounded() {
    return false;
  }

  /**
   * For a {@link #bounded} scan, in place of {@link #similarities}: {@code out[j]} approximates the
   * similarity of document {@code docs[j]} and {@code err[j]} bounds the difference, {@code
   * |out[j] - exact| <= err[j]}, {@code j < n}, ids ascending.
   */
  default void approximations(int[] docs, int n, float[] out, float[] err) throws IOException {
    throw new UnsupportedOperationException("an exact scan gives similarities");
  }

  /** The exact similarity of document {@code doc}, the same bits as an exact scan gives it. */
  default float exactSimilarity(int doc) throws IOException {
    throw new UnsupportedOperationException("an exact scan's similarities are exact");
  }

  /** Which way vectors are read, for the log and {@code explain}. */
  VectorScans.Path path();
}
