package io.lookalike.solr;

import java.io.IOException;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.hnsw.FlatVectorScorerUtil;
import org.apache.lucene.codecs.hnsw.FlatVectorsReader;
import org.apache.lucene.codecs.lucene99.Lucene99FlatVectorsFormat;
import org.apache.lucene.index.ByteVectorValues;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.search.KnnCollector;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.hnsw.RandomVectorScorer;

/**
 * Vectors without an HNSW graph: Lucene's flat vector files (the same {@code .vec} data an HNSW
 * segment keeps beside its graph), under a name of its own so a reader finds it by name (this
 * plugin registers it with Lucene's SPI). What a bulk load writes while it indexes ({@link
 * LookalikeCodecFactory}, {@code flatFlushes}): the graph is built once, by the force-merge that
 * follows, with every merge worker, instead of once per flushed segment and again when merging.
 *
 * <p>A search of such a segment ({@code {!knn}}) scores every vector the filter accepts, so it is
 * exact, and as slow as an exhaustive scan: these segments are meant to be merged away before a
 * collection is served. The exact path ({@code {!lookalike}}) reads their vectors as any other.
 */
public final class FlatVectorsFormat extends KnnVectorsFormat {
  /** The name written into each segment's field info. */
  public static final String NAME = "LookalikeFlatVectorsFormat";

  /** The attribute of each segment written with this format ({@link FlatSegmentsMergePolicy}). */
  static final String SEGMENT_MARK = "lookalike.flatVectors";

  static final String SEGMENT_MARK_VALUE = "true";

  private final Lucene99FlatVectorsFormat flat =
      new Lucene99FlatVectorsFormat(FlatVectorScorerUtil.getLucene99FlatVectorsScorer());

  /** For Lucene's SPI, which needs a public no-argument constructor. */
  public FlatVectorsFormat() {
    super(NAME);
  }

  @Override
  public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
    state.segmentInfo.putAttribute(SEGMENT_MARK, SEGMENT_MARK_VALUE); // written with the segment
    return flat.fieldsWriter(state);
  }

  @Override
  public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
    return new ExhaustiveReader(flat.fieldsReader(state));
  }

  /** As wide as a field may be: this format is only ever chosen for a field Solr accepted. */
  @Override
  public int getMaxDimensions(String fieldName) {
    return Integer.MAX_VALUE;
  }

  @Override
  public String toString() {
    return NAME + "(" + flat + ")";
  }

  /** The flat reader, with search as a scan of every accepted vector (Lucene's finds nothing). */
  private static final class ExhaustiveReader extends KnnVectorsReader {
    private final FlatVectorsReader flat;

    ExhaustiveReader(FlatVectorsReader flat) {
      this.flat = flat;
    }

    @Override
    public void checkIntegrity() throws IOException {
      flat.checkIntegrity();
    }

    @Override
    public FloatVectorValues getFloatVectorValues(String field) throws IOException {
      return flat.getFloatVectorValues(field);
    }

    @Override
    public ByteVectorValues getByteVectorValues(String field) throws IOException {
      return flat.getByteVectorValues(field);
    }

    @Override
    public void search(String field, float[] target, KnnCollector collector, Bits acceptDocs)
        throws IOException {
      scan(flat.getRandomVectorScorer(field, target), collector, acceptDocs);
    }

    @Override
    public void search(String field, byte[] target, KnnCollector collector, Bits acceptDocs)
        throws IOException {
      scan(flat.getRandomVectorScorer(field, target), collector, acceptDocs);
    }

    private static void scan(RandomVectorScorer scorer, KnnCollector collector, Bits acceptDocs)
        throws IOException {
      if (scorer == null) {
        return;
      }
      Bits accept = scorer.getAcceptOrds(acceptDocs);
      int visited = 0;
      for (int ord = 0; ord < scorer.maxOrd() && !collector.earlyTerminated(); ord++) {
        if (accept == null || accept.get(ord)) {
          visited++;
          collector.collect(scorer.ordToDoc(ord), scorer.score(ord));
        }
      }
      collector.incVisitedCount(visited);
    }

    @Override
    public long ramBytesUsed() {
      return flat.ramBytesUsed();
    }

    @Override
    public void close() throws IOException {
      flat.close();
    }
  }
}
