package io.lookalike.solr;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;
import org.apache.solr.search.SolrIndexSearcher;

/**
 * Exact similarity of every document's vector to one or several targets, with an optional
 * threshold. Unlike HNSW ({@code {!knn}}) it misses nothing: each candidate is verified exactly,
 * and only candidates that every other clause of the query let through are verified, through
 * Lucene's two-phase iteration (see {@link ExactVectorSimilarityScorer}).
 *
 * <h2>Similarity and score</h2>
 *
 * Similarity is in cosine units (-1..1 for a plain target): targets are L2-normalised here, and
 * document vectors are normalised on the fly unless the field guarantees unit vectors ({@code
 * dot_product}). With several positive targets, {@link Combine#MEAN} compares with the normalised
 * mean of the normalised targets and {@link Combine#MAX} takes the best target. Negatives subtract
 * {@code unlikeWeight} times the best similarity to a negative, so with negatives the similarity
 * ranges over {@code -1-w .. 1+w}. A document matches when its similarity is {@code >=
 * minSimilarity}.
 *
 * <p>The score is {@code boost * max(0, (1 + similarity) / 2)}: the scale Lucene uses for cosine
 * and dot-product vector fields, so scores mix with {@code {!knn}} and {@code
 * {!vectorSimilarity}} ones (they agree exactly for one target without negatives). Scores are
 * never negative, as Lucene requires; documents whose similarity is below -1 (possible only with
 * negatives) all score 0.
 *
 * <h2>Identity</h2>
 *
 * Immutable: arrays are copied in. {@code equals}/{@code hashCode} cover every field, vectors by
 * content, because Solr's query result and filter caches use the query as key. One target with
 * {@code combine=max} is the same query as with {@code combine=mean} and is stored as MEAN.
 */
public final class ExactVectorSimilarityQuery extends Query {
  /** {@code minSimilarity} value meaning "no threshold": every document with a vector matches. */
  public static final float NO_THRESHOLD = Float.NEGATIVE_INFINITY;

  private final String field;
  private final float[][] positives; // unit vectors; a single one (the mean) for MEAN
  private final float[][] negatives; // unit vectors
  private final int exampleCount; // positive examples given, before MEAN folded them into one
  private final Combine combine;
  private final float unlikeWeight;
  private final float minSimilarity;
  private final boolean docVectorsAreUnit;
  private final List<Query> filters; // the pre-filter (all must match); empty: none
  private final int hash;

  /**
   * @param field the dense vector field
   * @param likes positive examples (at least one), any non-zero length
   * @param unlikes negative examples (maybe none)
   * @param combine how several positives combine
   * @param unlikeWeight finite and {@code >= 0}
   * @param minSimilarity threshold in cosine units, or {@link #NO_THRESHOLD}
   * @param docVectorsAreUnit true when the field only holds unit vectors (dot_product fields), so
   *     documents need no normalisation
   * @throws IllegalArgumentException on empty, zero, non-finite or mismatched vectors
   */
  public ExactVectorSimilarityQuery(
      String field,
      float[][] likes,
      float[][] unlikes,
      Combine combine,
      float unlikeWeight,
      float minSimilarity,
      boolean docVectorsAreUnit) {
    this.field = Objects.requireNonNull(field, "field");
    Objects.requireNonNull(combine, "combine");
    if (likes == null || likes.length == 0) {
      throw new IllegalArgumentException("at least one positive example is needed");
    }
    if (!Float.isFinite(unlikeWeight) || unlikeWeight < 0) {
      throw new IllegalArgumentException("unlikeWeight must be finite and >= 0: " + unlikeWeight);
    }
    if (Float.isNaN(minSimilarity) || minSimilarity == Float.POSITIVE_INFINITY) {
      throw new IllegalArgumentException("minSimilarity must be a number: " + minSimilarity);
    }
    int dims = likes[0].length;
    float[][] likeUnits = normalizeAll(likes, dims, "like");
    this.negatives = normalizeAll(unlikes == null ? new float[0][] : unlikes, dims, "unlike");
    this.exampleCount = likeUnits.length;
    if (likeUnits.length == 1) {
      this.combine = Combine.MEAN;
      this.positives = likeUnits;
    } else if (combine == Combine.MEAN) {
      this.combine = Combine.MEAN;
      this.positives = new float[][] {meanDirection(likeUnits)};
    } else {
      this.combine = combine;
      this.positives = likeUnits;
    }
    this.unlikeWeight = negatives.length == 0 ? 0f : unlikeWeight;
    this.minSimilarity = minSimilarity;
    this.docVectorsAreUnit = docVectorsAreUnit;
    this.filters = List.of();
    this.hash = computeHash();
  }

  private ExactVectorSimilarityQuery(ExactVectorSimilarityQuery q, List<Query> filters) {
    this.field = q.field;
    this.positives = q.positives;
    this.negatives = q.negatives;
    this.exampleCount = q.exampleCount;
    this.combine = q.combine;
    this.unlikeWeight = q.unlikeWeight;
    this.minSimilarity = q.minSimilarity;
    this.docVectorsAreUnit = q.docVectorsAreUnit;
    this.filters = List.copyOf(filters);
    this.hash = computeHash();
  }

  /**
   * This query scoring only documents that match every one of {@code filters} (the request's
   * pre-filter): the scan walks the filter's documents itself and scores them in blocks. On a
   * {@link SolrIndexSearcher} the filters' DocSets come from Solr's filter cache.
   */
  public ExactVectorSimilarityQuery withFilters(List<Query> filters) {
    return new ExactVectorSimilarityQuery(this, filters);
  }

  public List<Query> getFilters() {
    return filters;
  }

  public String getField() {
    return field;
  }

  public int dimension() {
    return positives[0].length;
  }

  public Combine getCombine() {
    return combine;
  }

  public float getUnlikeWeight() {
    return unlikeWeight;
  }

  public float getMinSimilarity() {
    return minSimilarity;
  }

  /** Whether the field holds only unit vectors (a dot_product field). */
  boolean docVectorsAreUnit() {
    return docVectorsAreUnit;
  }

  public boolean hasThreshold() {
    return minSimilarity != NO_THRESHOLD;
  }

  /** The unit targets actually compared with (copies). */
  public float[][] positiveTargets() {
    return deepCopy(positives);
  }

  /** The unit negatives actually compared with (copies). */
  public float[][] negativeTargets() {
    return deepCopy(negatives);
  }

  /** The score of a similarity: {@code max(0, (1 + similarity) / 2)}, before boost. */
  public static float scoreOf(float similarity) {
    return Math.max(0f, (1f + similarity) * 0.5f);
  }

  TargetSimilarity similarity() {
    return new TargetSimilarity(positives, negatives, unlikeWeight, !docVectorsAreUnit);
  }

  @Override
  public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost)
      throws IOException {
    PreFilter filter = PreFilter.of(searcher, filters);
    // the packed copy saves work only where documents can be passed over: a top-k collector that
    // may skip, or a threshold; a collector that wants every score would read each vector twice
    boolean canSkip = scoreMode == ScoreMode.TOP_SCORES || hasThreshold();
    FilterVectors packed =
        filter == null || !canSkip
            ? null
            : FilterVectors.lookup(searcher, field, dimension(), filters, filter);
    return new ExactVectorSimilarityWeight(this, filter, packed, boost);
  }

  @Override
  public void visit(QueryVisitor visitor) {
    if (visitor.acceptField(field)) {
      visitor.visitLeaf(this);
    }
  }

  @Override
  public String toString(String defaultField) {
    StringBuilder sb = new StringBuilder("lookalike(");
    if (!field.equals(defaultField)) {
      sb.append(field).append(' ');
    }
    sb.append("dims=").append(dimension());
    sb.append(" examples=").append(exampleCount).append(" combine=").append(combine);
    if (negatives.length > 0) {
      sb.append(" unlike=").append(negatives.length);
      sb.append(" unlikeWeight=").append(unlikeWeight);
    }
    if (hasThreshold()) {
      sb.append(" minSimilarity=").append(minSimilarity);
    }
    if (!filters.isEmpty()) {
      sb.append(" filters=").append(filters);
    }
    sb.append(" target=").append(preview(positives[0]));
    return sb.append(')').toString();
  }

  @Override
  public boolean equals(Object other) {
    if (!sameClassAs(other)) {
      return false;
    }
    ExactVectorSimilarityQuery that = (ExactVectorSimilarityQuery) other;
    return hash == that.hash
        && field.equals(that.field)
        && combine == that.combine
        && exampleCount == that.exampleCount
        && Float.compare(unlikeWeight, that.unlikeWeight) == 0
        && Float.compare(minSimilarity, that.minSimilarity) == 0
        && docVectorsAreUnit == that.docVectorsAreUnit
        && Arrays.deepEquals(positives, that.positives)
        && Arrays.deepEquals(negatives, that.negatives)
        && filters.equals(that.filters);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  private int computeHash() {
    int h = classHash();
    h = 31 * h + field.hashCode();
    h = 31 * h + combine.hashCode();
    h = 31 * h + exampleCount;
    h = 31 * h + Float.hashCode(unlikeWeight);
    h = 31 * h + Float.hashCode(minSimilarity);
    h = 31 * h + Boolean.hashCode(docVectorsAreUnit);
    h = 31 * h + Arrays.deepHashCode(positives);
    h = 31 * h + Arrays.deepHashCode(negatives);
    h = 31 * h + filters.hashCode();
    return h;
  }

  private static float[][] normalizeAll(float[][] vectors, int dims, String what) {
    float[][] out = new float[vectors.length][];
    for (int i = 0; i < vectors.length; i++) {
      float[] v = Objects.requireNonNull(vectors[i], what + " vector");
      if (v.length != dims) {
        throw new IllegalArgumentException(
            what + " vector " + i + " has " + v.length + " dimensions, expected " + dims);
      }
      out[i] = unit(v, what + " vector " + i);
    }
    return out;
  }

  /** A normalised copy of {@code v}, computed in double so rounding does not depend on order. */
  static float[] unit(float[] v, String what) {
    double squared = 0;
    for (float x : v) {
      if (!Float.isFinite(x)) {
        throw new IllegalArgumentException(what + " has a non-finite element: " + x);
      }
      squared += (double) x * x;
    }
    if (v.length == 0 || squared == 0) {
      throw new IllegalArgumentException(what + " is empty or all zeros");
    }
    double inverse = 1.0 / Math.sqrt(squared);
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] * inverse);
    }
    return out;
  }

  private static float[] meanDirection(float[][] units) {
    float[] sum = new float[units[0].length];
    for (float[] u : units) {
      for (int i = 0; i < sum.length; i++) {
        sum[i] += u[i];
      }
    }
    double squared = 0;
    for (float x : sum) {
      squared += (double) x * x;
    }
    if (squared < 1e-12) {
      throw new IllegalArgumentException(
          "the like examples cancel out: their mean vector is zero; use combine=max");
    }
    return unit(sum, "mean of the examples");
  }

  private static float[][] deepCopy(float[][] vectors) {
    float[][] out = new float[vectors.length][];
    for (int i = 0; i < vectors.length; i++) {
      out[i] = vectors[i].clone();
    }
    return out;
  }

  private static String preview(float[] v) {
    StringBuilder sb = new StringBuilder("[");
    int shown = Math.min(v.length, 3);
    for (int i = 0; i < shown; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(String.format(Locale.ROOT, "%.4f", v[i]));
    }
    if (v.length > shown) {
      sb.append(",...");
    }
    return sb.append(']').toString();
  }

  /**
   * Per-search state. The score mode needs no special path: without a threshold the scorer's
   * iterator is the vector iterator itself and nothing is computed unless {@code score()} is
   * called; with one, {@code matches()} must compute the similarity whether or not scores are
   * needed. One instance is shared by the search's threads.
   */
  static final class ExactVectorSimilarityWeight extends Weight {
    private final ExactVectorSimilarityQuery query;
    private final PreFilter filter; // null: none
    private final FilterVectors packed; // the filter's vectors side by side; null: read in place
    private final float boost;
    private final TargetSimilarity similarity;

    ExactVectorSimilarityWeight(
        ExactVectorSimilarityQuery query, PreFilter filter, FilterVectors packed, float boost) {
      super(query);
      this.query = query;
      this.filter = filter;
      this.packed = packed;
      this.boost = boost;
      this.similarity = query.similarity();
    }

    /** This segment's vectors, or null when it has none; fails on a dimension mismatch. */
    private FloatVectorValues vectors(LeafReader reader) throws IOException {
      FieldInfo info = reader.getFieldInfos().fieldInfo(query.field);
      if (info == null || info.getVectorDimension() == 0) {
        return null;
      }
      if (info.getVectorEncoding() != VectorEncoding.FLOAT32) {
        throw new IllegalArgumentException(
            "field '" + query.field + "' holds " + info.getVectorEncoding() + " vectors, not FLOAT32");
      }
      if (info.getVectorDimension() != query.dimension()) {
        throw new IllegalArgumentException(
            "field '"
                + query.field
                + "' has "
                + info.getVectorDimension()
                + " dimensions, the query "
                + query.dimension());
      }
      return reader.getFloatVectorValues(query.field);
    }

    @Override
    public Scorer scorer(LeafReaderContext context) throws IOException {
      FloatVectorValues values = vectors(context.reader());
      if (values == null) {
        return null;
      }
      DocIdSetIterator filtered = null;
      if (filter != null) {
        filtered = filter.iterator(context);
        if (filtered == null) {
          return null; // nothing of this segment passes the filter
        }
      }
      // Reading the vector costs about dims, each dot product about dims more.
      float matchCost = query.dimension() + similarity.costPerDoc(query.dimension());
      FilterVectors.Leaf rows = packed == null ? null : packed.leaf(context);
      VectorScan inPlace = VectorScans.open(values, similarity);
      VectorScan scan = rows == null ? null : rows.scan(similarity, inPlace);
      return new ExactVectorSimilarityScorer(
          this,
          values,
          filtered,
          scan != null ? scan : inPlace,
          query.minSimilarity,
          query.hasThreshold(),
          boost,
          maxScore(),
          matchCost);
    }

    private float maxScore() {
      // pos <= 1 and neg >= -1, so similarity <= 1 + unlikeWeight.
      return boost * scoreOf(1f + query.unlikeWeight);
    }

    @Override
    public int count(LeafReaderContext context) throws IOException {
      if (query.hasThreshold() || filter != null || context.reader().hasDeletions()) {
        return -1; // only scoring can tell
      }
      FloatVectorValues values = vectors(context.reader());
      return values == null ? 0 : values.size();
    }

    /**
     * Vectors cannot be updated in place (no doc-values-style updates), so a segment's matches
     * depend only on its content and this query: caching per segment is safe.
     */
    @Override
    public boolean isCacheable(LeafReaderContext context) {
      return true;
    }

    @Override
    public Explanation explain(LeafReaderContext context, int doc) throws IOException {
      FloatVectorValues values = vectors(context.reader());
      if (values == null || values.advance(doc) != doc) {
        return Explanation.noMatch("no vector in field '" + query.field + "'");
      }
      if (filter != null && !filter.matches(context, doc)) {
        return Explanation.noMatch("not in the pre-filter " + query.filters);
      }
      // The similarity as the scorer computes it (same scan), the details from a heap copy.
      VectorScan scan = VectorScans.open(values, similarity);
      float sim = scan.similarity();
      Explanation[] details = details(values.vectorValue());
      if (!(sim >= query.minSimilarity)) {
        return Explanation.noMatch(
            String.format(
                Locale.ROOT,
                "similarity %.6f < minSimilarity %.6f; %s",
                sim,
                query.minSimilarity,
                scan.path().description),
            details);
      }
      String why =
          query.hasThreshold()
              ? String.format(
                  Locale.ROOT,
                  "similarity %.6f >= minSimilarity %.6f; score = %s(1 + similarity) / 2; %s",
                  sim,
                  query.minSimilarity,
                  boost == 1f ? "" : "boost * ",
                  scan.path().description)
              : String.format(
                  Locale.ROOT,
                  "similarity %.6f (no minSimilarity); score = %s(1 + similarity) / 2; %s",
                  sim,
                  boost == 1f ? "" : "boost * ",
                  scan.path().description);
      return Explanation.match(boost * scoreOf(sim), why, details);
    }

    private Explanation[] details(float[] v) {
      int p = similarity.bestPositive(v);
      float pos = similarity.cosine(query.positives[p], v);
      String posText =
          query.positives.length > 1
              ? "cosine to positive example " + p + " (best of " + query.positives.length + ")"
              : query.exampleCount > 1
                  ? "cosine to the mean of " + query.exampleCount + " examples"
                  : "cosine to the target";
      Explanation positive = Explanation.match(pos, posText);
      int n = similarity.bestNegative(v);
      if (n < 0) {
        return new Explanation[] {positive};
      }
      float neg = similarity.cosine(query.negatives[n], v);
      Explanation negative =
          Explanation.match(
              -query.unlikeWeight * neg,
              String.format(
                  Locale.ROOT,
                  "minus unlikeWeight %s * cosine %.6f to negative example %d (best of %d)",
                  query.unlikeWeight,
                  neg,
                  n,
                  query.negatives.length));
      return new Explanation[] {positive, negative};
    }
  }
}
