package io.lookalike.solr;

/**
 * Dot products of one target with the int8 rows of a filter's packed copy ({@link
 * FilterVectors}): row {@code r} stands for {@code scales[r] * codes[r * dims ..]}.
 */
interface CodeScan {
  /** {@code out[j]} = {@code scales[r] * (target . codes of row r)} for {@code r = rows[j]}, {@code j < n}. */
  void dots(int[] rows, int n, float[] out);
}
