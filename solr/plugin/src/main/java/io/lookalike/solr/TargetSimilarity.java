package io.lookalike.solr;

import org.apache.lucene.util.VectorUtil;

/**
 * The per-document arithmetic of {@link ExactVectorSimilarityQuery}, shared by its scorer and its
 * explain so that both say the same number. Stateless and read-only: safe to share across
 * threads. No allocation per document.
 *
 * <p>With unit targets p_i, unit negatives n_j and a document vector v:
 *
 * <pre>
 *   pos = max_i dot(p_i, v)            (MEAN passes a single target: the normalised mean)
 *   neg = max_j dot(n_j, v)            (0 when there are no negatives)
 *   sim = (pos - unlikeWeight * neg) / |v|     (|v| = 1 when the field stores unit vectors)
 * </pre>
 *
 * Dividing once at the end is exact because max commutes with a positive scale.
 */
final class TargetSimilarity {
  private final float[][] positives;
  private final float[][] negatives;
  private final float unlikeWeight;
  private final boolean normalizeDocs;

  TargetSimilarity(
      float[][] positives, float[][] negatives, float unlikeWeight, boolean normalizeDocs) {
    this.positives = positives;
    this.negatives = negatives;
    this.unlikeWeight = unlikeWeight;
    this.normalizeDocs = normalizeDocs;
  }

  /** The unit positive targets (not copied: callers must not write to them). */
  float[][] positives() {
    return positives;
  }

  /** The unit negative targets (not copied: callers must not write to them). */
  float[][] negatives() {
    return negatives;
  }

  float unlikeWeight() {
    return unlikeWeight;
  }

  /** True when document vectors must be normalised (fields that do not guarantee unit vectors). */
  boolean normalizeDocs() {
    return normalizeDocs;
  }

  /**
   * The similarity from its parts: the best dot product with a positive, with a negative (ignored
   * without negatives), and the document's squared norm (ignored unless {@link #normalizeDocs}).
   * Both the heap scan and the in-place scan end here, so they cannot disagree on the formula.
   */
  float combine(float pos, float neg, float squaredNorm) {
    float inverseNorm = 1f;
    if (normalizeDocs) {
      if (squaredNorm == 0f) {
        return 0f; // a zero vector has no direction: call it orthogonal to everything
      }
      inverseNorm = (float) (1.0 / Math.sqrt(squaredNorm));
    }
    return negatives.length == 0 ? pos * inverseNorm : (pos - unlikeWeight * neg) * inverseNorm;
  }

  /** Cosine-unit similarity of the document vector {@code v} to the targets. */
  float similarity(float[] v) {
    float squared = normalizeDocs ? VectorUtil.dotProduct(v, v) : 1f;
    float pos = VectorUtil.dotProduct(positives[0], v);
    for (int i = 1; i < positives.length; i++) {
      pos = Math.max(pos, VectorUtil.dotProduct(positives[i], v));
    }
    float neg = 0f;
    if (negatives.length > 0) {
      neg = VectorUtil.dotProduct(negatives[0], v);
      for (int j = 1; j < negatives.length; j++) {
        neg = Math.max(neg, VectorUtil.dotProduct(negatives[j], v));
      }
    }
    return combine(pos, neg, squared);
  }

  /** Index of the positive target closest to {@code v} (for explain). */
  int bestPositive(float[] v) {
    return argMax(positives, v);
  }

  /** Index of the negative target closest to {@code v}, or -1 without negatives (for explain). */
  int bestNegative(float[] v) {
    return negatives.length == 0 ? -1 : argMax(negatives, v);
  }

  /** Cosine of {@code v} with one target (for explain). */
  float cosine(float[] target, float[] v) {
    float dot = VectorUtil.dotProduct(target, v);
    if (!normalizeDocs) {
      return dot;
    }
    float squared = VectorUtil.dotProduct(v, v);
    return squared == 0f ? 0f : (float) (dot / Math.sqrt(squared));
  }

  /** Floating-point operations' worth of work per document, for {@code matchCost}. */
  float costPerDoc(int dims) {
    int dots = positives.length + negatives.length + (normalizeDocs ? 1 : 0);
    return (float) dots * dims;
  }

  private static int argMax(float[][] targets, float[] v) {
    int best = 0;
    float bestDot = VectorUtil.dotProduct(targets[0], v);
    for (int i = 1; i < targets.length; i++) {
      float dot = VectorUtil.dotProduct(targets[i], v);
      if (dot > bestDot) {
        bestDot = dot;
        best = i;
      }
    }
    return best;
  }
}
