package io.lookalike.solr;

import org.apache.lucene.util.VectorUtil;

/**
 * The per-document arithmetic of {@link ExactVectorSimilarityQuery}, shared by its scorer and its
 * explain so that both say the same number. Stateless and read-only: safe to share across
 * threads. The scorer's scans allocate nothing per document (only {@link #similarity(float[])},
 * for explain and tests, wraps its array).
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

  /**
   * One document's vector as the similarity reads it: its dot products with the targets and its
   * squared norm. The heap scan reads a {@code float[]} ({@link ArrayVector}), the in-place scan
   * the mapped file; both go through {@link #similarity(DocVector)}, so they cannot disagree on
   * the formula.
   */
  interface DocVector {
    float dot(float[] target);

    float squaredNorm();
  }

  /** A document vector held in an array; {@link #vector} may be replaced for the next document. */
  static final class ArrayVector implements DocVector {
    float[] vector;

    ArrayVector(float[] vector) {
      this.vector = vector;
    }

    @Override
    public float dot(float[] target) {
      return VectorUtil.dotProduct(target, vector);
    }

    @Override
    public float squaredNorm() {
      return VectorUtil.dotProduct(vector, vector);
    }
  }

  /**
   * The one target when the similarity is a plain dot product with it (one positive, no
   * negatives, unit document vectors), else null: what block scans compute several documents of
   * at once.
   */
  float[] plainDotTarget() {
    return positives.length == 1 && negatives.length == 0 && !normalizeDocs ? positives[0] : null;
  }

  /** Cosine-unit similarity of the document vector {@code v} to the targets. */
  float similarity(float[] v) {
    return similarity(new ArrayVector(v));
  }

  /** Cosine-unit similarity of the document vector {@code v} to the targets. */
  float similarity(DocVector v) {
    float inverseNorm = 1f;
    if (normalizeDocs) {
      float squared = v.squaredNorm();
      if (squared == 0f) {
        return 0f; // a zero vector has no direction: call it orthogonal to everything
      }
      inverseNorm = (float) (1.0 / Math.sqrt(squared));
    }
    float pos = v.dot(positives[0]);
    for (int i = 1; i < positives.length; i++) {
      pos = Math.max(pos, v.dot(positives[i]));
    }
    if (negatives.length == 0) {
      return pos * inverseNorm;
    }
    float neg = v.dot(negatives[0]);
    for (int j = 1; j < negatives.length; j++) {
      neg = Math.max(neg, v.dot(negatives[j]));
    }
    return (pos - unlikeWeight * neg) * inverseNorm;
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
