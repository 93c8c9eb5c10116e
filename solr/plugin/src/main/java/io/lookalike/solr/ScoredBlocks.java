package io.lookalike.solr;

import java.io.IOException;
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
 * walks the block; {@link #similarity()} is the current document's.
 *
 * <p>Used when the scan reads vectors by document id (dense values in the mapped file); other
 * scans compute one document at a time as before.
 */
final class ScoredBlocks extends DocIdSetIterator {
  static final int BLOCK = 64;

  private final DocIdSetIterator candidates;
  private final VectorScan scan;
  private final int[] docs = new int[BLOCK];
  private final float[] sims = new float[BLOCK];
  private int n; // documents in the block
  private int at = -1; // position of the current document in the block
  private int doc = -1;

  ScoredBlocks(DocIdSetIterator candidates, VectorScan scan) {
    this.candidates = candidates;
    this.scan = scan;
  }

  float similarity() {
    return sims[at];
  }

  @Override
  public int docID() {
    return doc;
  }

  @Override
  public int nextDoc() throws IOException {
    if (++at < n) {
      return doc = docs[at];
    }
    return fill(candidates.docID() == NO_MORE_DOCS ? NO_MORE_DOCS : candidates.nextDoc());
  }

  @Override
  public int advance(int target) throws IOException {
    while (++at < n) {
      if (docs[at] >= target) {
        return doc = docs[at];
      }
    }
    // every document of the block is below target, and so is the candidates' current one
    return fill(candidates.docID() == NO_MORE_DOCS ? NO_MORE_DOCS : candidates.advance(target));
  }

  private int fill(int first) throws IOException {
    at = 0;
    n = 0;
    if (first == NO_MORE_DOCS) {
      return doc = NO_MORE_DOCS;
    }
    docs[n++] = first;
    while (n < BLOCK) {
      int d = candidates.nextDoc();
      if (d == NO_MORE_DOCS) {
        break;
      }
      docs[n++] = d;
    }
    scan.similarities(docs, n, sims);
    return doc = docs[0];
  }

  @Override
  public long cost() {
    return candidates.cost();
  }
}
