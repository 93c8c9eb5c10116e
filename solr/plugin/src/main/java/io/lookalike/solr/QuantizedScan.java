package io.lookalike.solr;

/**
 * One segment's documents compared with one unit target on the segment's scalar-quantized copy of
 * its vectors ({@link VectorQuantization}: a byte, or half a byte, per dimension) instead of the
 * float32 vectors: a quarter or an eighth of the bytes to read, for an estimate of the dot product
 * that is good enough to choose candidates, not to score them. {@link QuantizedScans#open} gives
 * one where the segment allows it.
 */
interface QuantizedScan {
  /**
   * {@code out[j]} = the quantized estimate of {@code dot(target, vector of docs[j])}, {@code j <
   * n}, in cosine units: Lucene's own quantized dot product, {@code dot(query bytes, document
   * bytes) * multiplier + query correction + document correction}, before it maps it to a score.
   * Ids are the segment's; each must have a vector (the segment is dense).
   */
  void dotProducts(int[] docs, int n, float[] out);

  /** Which copy is read ({@code int7}, {@code int4 packed}), for tests and explain. */
  String describe();
}
