package io.lookalike.solr;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.HitQueue;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.ArrayUtil;
import org.apache.lucene.util.Bits;
import org.apache.solr.search.SortedIntDocSet;

/**
 * The {@code count} documents of the filter whose quantized copies ({@link VectorQuantization})
 * come closest to {@code target}: the candidates an exact scan of a quantized field rescores with
 * the float32 vectors ({@link SearchPlan#rescored}), so its answer and scores stay the float ones.
 *
 * <p>Why: an exact scan under a filter reads each passing document's float32 vector, 1 KB at 256
 * dimensions, and is bound by memory bandwidth. The int7 copy of the same vector is 256 bytes,
 * the packed int4 copy 128, so choosing the candidates on them reads a quarter or an eighth as
 * much; the float32 vectors are then read only for the {@code count} candidates. Measured on 500k
 * random unit vectors x 256 in one mmapped segment, 600 results (a 2-core VM shared with other
 * work, so ratios rather than milliseconds): a 10% filter took 8-9 ms as a float scan and 6.5-8
 * with int7 or int4 candidates, 20% 16-18 against 11-12, 50% 31-40 against 16-22 (int4) and 21-22
 * (int7). Less than the bytes promise: a filter's survivors are scattered, and each costs a
 * memory round trip (and a page walk) before its bytes, whatever their number. The top 10 were
 * the float scan's every time, the top 600 0.99-1.0 of its with the candidates {@link SearchPlan}
 * asks for.
 *
 * <p>Like Lucene's kNN queries it does its work in {@link #rewrite}: it scores, a block of
 * documents at a time ({@link QuantizedScan}), every live document the filter lets through (no
 * filter: every live document), keeps the global best {@code count} by quantized estimate, and
 * rewrites to a query that matches exactly those (a constant score: the scores are the
 * rescoring's). Wrap it in {@link SearchedOnce} so that a second rewrite of the request does not
 * scan again. A segment that cannot be scanned on its quantized copy ({@link QuantizedScans#open}
 * answers null: flat-flushed, sparse, not mmapped, Java 17) contributes all of its filtered live
 * documents, so they are all rescored: slower there, never a wrong answer.
 *
 * <p>Immutable; equality covers field, target (by content), filter and count, as the query is part
 * of cache keys.
 */
final class QuantizedCandidatesQuery extends Query {
  private final String field;
  private final float[] target; // unit
  private final Query filter; // null: every live document
  private final int count;
  private final int hash;

  /**
   * @param target a unit vector (the quantized estimate is of a dot product)
   * @param filter the documents to choose from, or null for every live document
   * @param count how many candidates to keep, at least 1
   */
  QuantizedCandidatesQuery(String field, float[] target, Query filter, int count) {
    this.field = Objects.requireNonNull(field, "field");
    this.target = Objects.requireNonNull(target, "target").clone();
    if (count < 1) {
      throw new IllegalArgumentException("count must be at least 1, got " + count);
    }
    this.filter = filter;
    this.count = count;
    this.hash = computeHash();
  }

  String getField() {
    return field;
  }

  Query getFilter() {
    return filter;
  }

  int getCount() {
    return count;
  }

  @Override
  public Query rewrite(IndexSearcher searcher) throws IOException {
    Weight filterWeight =
        filter == null
            ? null
            : searcher.createWeight(searcher.rewrite(filter), ScoreMode.COMPLETE_NO_SCORES, 1f);
    Best best = new Best(count);
    int[] everything = new int[0]; // documents of segments without a quantized scan
    int kept = 0;
    int[] docs = new int[ScoredBlocks.BLOCK];
    float[] dots = new float[ScoredBlocks.BLOCK];
    for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
      DocIdSetIterator candidates;
      if (filterWeight == null) {
        candidates = DocIdSetIterator.all(leaf.reader().maxDoc());
      } else {
        Scorer scorer = filterWeight.scorer(leaf);
        if (scorer == null) {
          continue;
        }
        candidates = scorer.iterator();
      }
      Bits live = leaf.reader().getLiveDocs();
      QuantizedScan scan = QuantizedScans.open(leaf.reader(), field, target);
      if (scan == null) {
        for (int d = candidates.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = candidates.nextDoc()) {
          if (live == null || live.get(d)) {
            everything = ArrayUtil.grow(everything, kept + 1);
            everything[kept++] = leaf.docBase + d;
          }
        }
        continue;
      }
      for (int d = candidates.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; ) {
        int n = 0;
        for (; d != DocIdSetIterator.NO_MORE_DOCS && n < docs.length; d = candidates.nextDoc()) {
          if (live == null || live.get(d)) {
            docs[n++] = d;
          }
        }
        scan.dotProducts(docs, n, dots);
        for (int j = 0; j < n; j++) {
          best.offer(leaf.docBase + docs[j], dots[j]);
        }
      }
    }
    int[] chosen = best.docs(everything, kept);
    return new SortedIntDocSet(chosen).makeQuery();
  }

  /** The best {@code count} (document, estimate) pairs so far: a min-heap with the worst on top. */
  private static final class Best {
    private final HitQueue queue;
    private ScoreDoc worst;

    Best(int count) {
      queue = new HitQueue(count, true); // filled with sentinels (-infinity), so offer never grows it
      worst = queue.top();
    }

    void offer(int doc, float estimate) {
      // ties keep the lower id, as the heap orders them (ids arrive ascending)
      if (estimate > worst.score) {
        worst.doc = doc;
        worst.score = estimate;
        worst = queue.updateTop();
      }
    }

    /** The kept documents and {@code extra[0..n)}, ascending and distinct. */
    int[] docs(int[] extra, int n) {
      int[] out = Arrays.copyOf(extra, n + queue.size());
      int at = n;
      for (ScoreDoc hit : queue) {
        if (hit.score != Float.NEGATIVE_INFINITY) {
          out[at++] = hit.doc;
        }
      }
      Arrays.sort(out, 0, at); // the two sources never share a document: each segment is one or the other
      return Arrays.copyOf(out, at);
    }
  }

  @Override
  public void visit(QueryVisitor visitor) {
    if (visitor.acceptField(field)) {
      visitor.visitLeaf(this);
    }
  }

  @Override
  public String toString(String defaultField) {
    StringBuilder sb = new StringBuilder("quantizedCandidates(");
    if (!field.equals(defaultField)) {
      sb.append(field).append(' ');
    }
    sb.append("dims=").append(target.length).append(" count=").append(count);
    if (filter != null) {
      sb.append(" filter=").append(filter.toString(defaultField));
    }
    return sb.append(')').toString();
  }

  @Override
  public boolean equals(Object other) {
    if (!sameClassAs(other)) {
      return false;
    }
    QuantizedCandidatesQuery that = (QuantizedCandidatesQuery) other;
    return hash == that.hash
        && count == that.count
        && field.equals(that.field)
        && Arrays.equals(target, that.target)
        && Objects.equals(filter, that.filter);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  private int computeHash() {
    int h = classHash();
    h = 31 * h + field.hashCode();
    h = 31 * h + Arrays.hashCode(target);
    h = 31 * h + Objects.hashCode(filter);
    h = 31 * h + count;
    return h;
  }
}
