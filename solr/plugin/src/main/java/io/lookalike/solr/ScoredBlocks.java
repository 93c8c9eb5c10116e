package io.lookalike.solr;

import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.search.DocIdSetIterator;

/**
 * The documents to score (those with a vector, and in the pre-filter when there is one), with
 * their similarities computed a block at a time.
 *
 * <p>Scoring one document per call leaves the CPU waiting on memory whenever the next vector is
 * not the one after the last (a filter's survivors): the loop around each dot product (the
 * iterators, the collector) is too long for the core to start the next vector's loads early. Here
 * the next {@link #BLOCK} document ids are taken from the candidates first, and their
 * similarities computed in one tight loop ({@link VectorScan#similarities}, several documents per
 * pass over the target), so the loads of several vectors are in flight at once. The iterator then
 * walks the block; {@link #similarity()} is the current document's. Once a top-k collector's
 * queue is full it passes over the documents that cannot enter it ({@link #setMinScore}), so the
 * collector sees a few hundred of a filter's documents instead of every one.
 *
 * <p>A {@link VectorScan#bounded} scan (a filter's int8 copy) gives each block approximations
 * with error bounds: a document whose bound cannot reach the queue's bottom or the threshold is
 * passed over, and the exact similarity (the mapped file's, the same bits as any exact scan) is
 * computed only for a document the iterator stops on, when its score is asked for. Every score
 * handed out is exact; a document passed over is one whose exact similarity is below the mark.
 *
 * <p>Used when the scan reads vectors by document id (dense values in the mapped file, or a
 * filter's packed copy); other scans compute one document at a time as before.
 */
final class ScoredBlocks extends DocIdSetIterator {
  static final int BLOCK = 64;

  private final DocIdSetIterator candidates;
  private final VectorScan scan;
  private final float boost;
  private final float floor; // similarities below it never match (the query's threshold)
  private float minScore = Float.NEGATIVE_INFINITY; // documents scoring less are not competitive
  private final int[] docs = new int[BLOCK];
  private final float[] sims = new float[BLOCK];
  private final float[] errs; // a bounded scan's error bounds, else null
  private final boolean[] exact; // a bounded scan's: sims[i] is exact
  private int n; // documents in the block
  private int at = -1; // position of the current document in the block
  private int doc = -1;

  /**
   * @param floor the least similarity that can match ({@code -Infinity}: any); documents below it
   *     may be passed over
   */
  ScoredBlocks(DocIdSetIterator candidates, VectorScan scan, float boost, float floor) {
    this.candidates = candidates;
    this.scan = scan;
    this.boost = boost;
    this.floor = floor;
    this.errs = scan.bounded() ? new float[BLOCK] : null;
    this.exact = scan.bounded() ? new boolean[BLOCK] : null;
  }

  /** The current document's similarity, exact. */
  float similarity() throws IOException {
    if (exact != null && !exact[at]) {
      sims[at] = scan.exactSimilarity(docs[at]);
      exact[at] = true;
    }
    return sims[at];
  }

  /**
   * From now on the iterator passes over documents that score less than {@code score} (Lucene's
   * {@code Scorable.setMinCompetitiveScore}: the collector's queue is full and they cannot enter
   * it), so a top-k collector sees a few hundred of a filter's documents, not all of them.
   */
  void setMinScore(float score) {
    minScore = score;
  }

  private boolean competitive(int i) {
    // a bounded scan's approximation: the most its exact similarity can be (rounded up, so the
    // float sum never falls below the real one)
    float most = exact != null && !exact[i] ? Math.nextUp(sims[i] + errs[i]) : sims[i];
    return most >= floor && boost * ExactVectorSimilarityQuery.scoreOf(most) >= minScore;
  }

  @Override
  public int docID() {
    return doc;
  }

  @Override
  public int nextDoc() throws IOException {
    while (true) {
      while (++at < n) {
        if (competitive(at)) {
          return doc = docs[at];
        }
      }
      if (fill(candidates.docID() == NO_MORE_DOCS ? NO_MORE_DOCS : candidates.nextDoc())) {
        return doc = NO_MORE_DOCS;
      }
    }
  }

  @Override
  public int advance(int target) throws IOException {
    while (true) {
      while (++at < n) {
        if (docs[at] >= target && competitive(at)) {
          return doc = docs[at];
        }
      }
      // nothing in the block: on from the candidates, past target (the block's last document,
      // the candidates' current one, may already be past it and not competitive)
      int next =
          candidates.docID() == NO_MORE_DOCS
              ? NO_MORE_DOCS
              : candidates.docID() >= target ? candidates.nextDoc() : candidates.advance(target);
      if (fill(next)) {
        return doc = NO_MORE_DOCS;
      }
    }
  }

  /** The block starting at {@code first}, positioned before its first document; true at the end. */
  private boolean fill(int first) throws IOException {
    at = -1;
    n = 0;
    if (first == NO_MORE_DOCS) {
      return true;
    }
    docs[n++] = first;
    while (n < BLOCK) {
      int d = candidates.nextDoc();
      if (d == NO_MORE_DOCS) {
        break;
      }
      docs[n++] = d;
    }
    if (exact != null) {
      scan.approximations(docs, n, sims, errs);
      Arrays.fill(exact, 0, n, false);
    } else {
      scan.similarities(docs, n, sims);
    }
    return false;
  }

  @Override
  public long cost() {
    return candidates.cost();
  }
}
