package io.lookalike.solr;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.search.ConjunctionUtils;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.TwoPhaseIterator;
import org.apache.lucene.search.Weight;

/**
 * Scores one segment. The approximation is the vector field's own iterator: only documents that
 * have a vector. With a threshold, {@link TwoPhaseIterator#matches()} computes the similarity
 * once, keeps it for {@link #score()}, and compares it with {@code minSimilarity}. Lucene's
 * conjunctions advance every clause's cheap approximation first and call {@code matches()} only
 * on documents all of them agree on, so a filter ({@code fq}, a FILTER clause, a text query)
 * limits the exact verification to what it lets through.
 *
 * <p>That is also why this is not a Solr {@code PostFilter}: a post filter sees the documents
 * surviving the query and filters as a collector, which two-phase iteration already achieves
 * inside Lucene, while also scoring, working as {@code q}, and composing with {@code {!collapse}}.
 *
 * <p>With a pre-filter of its own ({@code ExactVectorSimilarityQuery#withFilters}) the
 * approximation is the filter's documents; when the scan reads vectors by document id (dense,
 * mapped) they are scored a block at a time ({@link ScoredBlocks}), which keeps a filter's
 * scattered survivors as fast per document as a scan of all of them.
 *
 * <p>The hot loop allocates nothing. How each vector is read is the {@link VectorScan}'s business
 * ({@link VectorScans}): in place in the mmapped file on Java 22+ when the segment allows, else
 * copied by {@link FloatVectorValues#vectorValue()} into a reused buffer, with the dot products in
 * {@code VectorUtil} (SIMD on Java 20+ with the incubator module).
 * The field's own {@code FloatVectorValues.scorer(target)} ({@code VectorScorer}) is not used: it
 * scores one target with the field's similarity function, so several targets and negatives would
 * read each vector once per target, and for float vectors in Lucene 9.12 it copies the vector to
 * the heap just as {@code vectorValue()} does, so it saves nothing for one target either.
 */
final class ExactVectorSimilarityScorer extends Scorer {
  private final DocIdSetIterator approximation; // documents with a vector (and in the filter)
  private final ScoredBlocks blocks; // non-null when the scan scores blocks by document id
  private final VectorScan scan; // reads the vector of values' current document
  private final float boost;
  private final float maxScore;
  private final TwoPhaseIterator twoPhase; // null without threshold: every vector matches
  private int cachedDoc = -1;
  private float cachedSimilarity;

  /**
   * @param filter the documents of the query's pre-filter in this segment, or null for all
   */
  ExactVectorSimilarityScorer(
      Weight weight,
      FloatVectorValues values,
      DocIdSetIterator filter,
      VectorScan scan,
      float minSimilarity,
      boolean hasThreshold,
      float boost,
      float maxScore,
      float matchCost) {
    super(weight);
    this.scan = scan;
    if (filter != null && scan.byDocId()) {
      // dense values: every document has a vector, so the filter alone names the candidates.
      // (Without a filter of its own the scorer may be led by another clause of a conjunction,
      // which skips: a block computed ahead would score documents nobody asks for.)
      this.blocks =
          new ScoredBlocks(filter, scan, boost, hasThreshold ? minSimilarity : Float.NEGATIVE_INFINITY);
      this.approximation = blocks;
    } else {
      this.blocks = null;
      this.approximation =
          filter == null ? values : ConjunctionUtils.intersectIterators(List.of(filter, values));
    }
    this.boost = boost;
    this.maxScore = maxScore;
    this.twoPhase =
        hasThreshold
            ? new TwoPhaseIterator(approximation) {
              @Override
              public boolean matches() throws IOException {
                return similarity() >= minSimilarity;
              }

              @Override
              public float matchCost() {
                return matchCost;
              }
            }
            : null;
  }

  /** The current document's similarity, computed at most once per document. */
  private float similarity() throws IOException {
    if (blocks != null) {
      return blocks.similarity();
    }
    int doc = approximation.docID();
    if (doc != cachedDoc) {
      cachedSimilarity = scan.similarity();
      cachedDoc = doc;
    }
    return cachedSimilarity;
  }

  /** How this segment's vectors are read. */
  VectorScans.Path path() {
    return scan.path();
  }

  @Override
  public DocIdSetIterator iterator() {
    return twoPhase == null ? approximation : TwoPhaseIterator.asDocIdSetIterator(twoPhase);
  }

  @Override
  public TwoPhaseIterator twoPhaseIterator() {
    return twoPhase;
  }

  @Override
  public int docID() {
    return approximation.docID();
  }

  @Override
  public float score() throws IOException {
    return boost * ExactVectorSimilarityQuery.scoreOf(similarity());
  }

  @Override
  public float getMaxScore(int upTo) {
    return maxScore;
  }

  /**
   * Scored in blocks, the iterator skips what cannot enter a full top-k queue (see {@link
   * ScoredBlocks#setMinScore}); otherwise every document is still returned, which Lucene allows.
   */
  @Override
  public void setMinCompetitiveScore(float minScore) {
    if (blocks != null) {
      blocks.setMinScore(minScore);
    }
  }
}
