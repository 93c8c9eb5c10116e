package io.lookalike.solr;

/**
 * The expected similarity, computed the slow obvious way in double precision, independently of
 * the production arithmetic: cosine to the mean direction (or max over examples), minus the
 * weighted best cosine to a negative.
 */
final class BruteForce {
  private final float[][] likes;
  private final float[][] unlikes;
  private final Combine combine;
  private final double unlikeWeight;

  BruteForce(float[][] likes, float[][] unlikes, Combine combine, double unlikeWeight) {
    this.likes = likes;
    this.unlikes = unlikes;
    this.combine = combine;
    this.unlikeWeight = unlikeWeight;
  }

  double similarity(float[] v) {
    double pos;
    if (combine == Combine.MEAN) {
      double[] mean = new double[v.length];
      for (float[] like : likes) {
        double norm = norm(like);
        for (int d = 0; d < v.length; d++) {
          mean[d] += like[d] / norm;
        }
      }
      pos = cosine(mean, v);
    } else {
      pos = Double.NEGATIVE_INFINITY;
      for (float[] like : likes) {
        pos = Math.max(pos, cosine(toDouble(like), v));
      }
    }
    if (unlikes.length == 0) {
      return pos;
    }
    double neg = Double.NEGATIVE_INFINITY;
    for (float[] unlike : unlikes) {
      neg = Math.max(neg, cosine(toDouble(unlike), v));
    }
    return pos - unlikeWeight * neg;
  }

  static double cosine(double[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int d = 0; d < a.length; d++) {
      dot += a[d] * b[d];
      na += a[d] * a[d];
      nb += (double) b[d] * b[d];
    }
    return dot / Math.sqrt(na) / Math.sqrt(nb);
  }

  private static double norm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += (double) x * x;
    }
    return Math.sqrt(s);
  }

  private static double[] toDouble(float[] v) {
    double[] out = new double[v.length];
    for (int d = 0; d < v.length; d++) {
      out[d] = v[d];
    }
    return out;
  }
}
