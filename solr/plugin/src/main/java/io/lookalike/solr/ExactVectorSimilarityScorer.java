package io.lookalike.solr;

import java.io.IOException;
import org.apache.lucene.index.FloatVectorValues;
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
  private final FloatVectorValues values;
  private final VectorScan scan; // reads the vector of values' current document
  private final float boost;
  private final float maxScore;
  private final TwoPhaseIterator twoPhase; // null without threshold: every vector matches
  private int cachedDoc = -1;
  private float cachedSimilarity;

  ExactVectorSimilarityScorer(
      Weight weight,
      FloatVectorValues values,
      VectorScan scan,
      float minSimilarity,
      boolean hasThreshold,
      float boost,
      float maxScore,
      float matchCost) {
    super(weight);
    this.values = values;
    this.scan = scan;
    this.boost = boost;
    this.maxScore = maxScore;
    this.twoPhase =
        hasThreshold
            ? new TwoPhaseIterator(values) {
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
    int doc = values.docID();
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
    return twoPhase == null ? values : TwoPhaseIterator.asDocIdSetIterator(twoPhase);
  }

  @Override
  public TwoPhaseIterator twoPhaseIterator() {
    return twoPhase;
  }

  @Override
  public int docID() {
    return values.docID();
  }

  @Override
  public float score() throws IOException {
    return boost * ExactVectorSimilarityQuery.scoreOf(similarity());
  }

  @Override
  public float getMaxScore(int upTo) {
    return maxScore;
  }
}
