package io.lookalike.solr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.Field;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.MergePolicy;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.MMapDirectory;
import org.apache.solr.common.SolrException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The codec's flat flushes (a bulk load's segments without an HNSW graph): what indexing threads
 * flush is written in {@link FlatVectorsFormat}, found again by name when the index is reopened,
 * searched exhaustively (exactly brute force's answer, filtered too); a merge writes the field's
 * real HNSW format whatever the setting; switching it off makes the next flush HNSW again.
 */
class FlatFlushesTest {
  private static final String FIELD = "vector";
  private static final int DIMS = 24;
  private static final int PER_SEGMENT = 700;

  @TempDir Path tmp;

  private final Random random = new Random(20261203L);
  private final List<float[]> vectors = new ArrayList<>();

  private void addSegment(IndexWriter writer) throws IOException {
    for (int i = 0; i < PER_SEGMENT; i++) {
      float[] v = new float[DIMS];
      for (int d = 0; d < DIMS; d++) {
        v[d] = random.nextFloat() - 0.5f;
      }
      int n = vectors.size();
      vectors.add(v);
      Document doc = new Document();
      doc.add(new KnnFloatVectorField(FIELD, v, VectorSimilarityFunction.EUCLIDEAN));
      doc.add(new StoredField("i", n));
      doc.add(new StringField("half", n % 2 == 0 ? "even" : "odd", Field.Store.NO));
      writer.addDocument(doc);
    }
    writer.commit();
  }

  private static List<String> formats(DirectoryReader reader) {
    List<String> out = new ArrayList<>();
    for (LeafReaderContext leaf : reader.leaves()) {
      out.add(
          leaf.reader().getFieldInfos().fieldInfo(FIELD).getAttribute(PerFieldKnnVectorsFormat.PER_FIELD_FORMAT_KEY));
    }
    return out;
  }

  private static double squaredDistance(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return s;
  }

  private static List<Integer> ids(IndexSearcher searcher, TopDocs top) throws IOException {
    List<Integer> out = new ArrayList<>();
    for (ScoreDoc hit : top.scoreDocs) {
      out.add(searcher.storedFields().document(hit.doc).getField("i").numericValue().intValue());
    }
    return out;
  }

  @Test
  void flushedSegmentsAreFlatSearchedExhaustivelyAndMergedIntoAGraph() throws IOException {
    AtomicBoolean flat = new AtomicBoolean(true);
    try (MergeWorkers workers = MergeWorkers.start(2)) {
      Codec codec =
          LookalikeCodecFactory.withVectorFormats(
              new Lucene912Codec(),
              f -> FIELD.equals(f) ? workers.floatFormat(16, 100, DIMS) : null,
              flat::get);
      try (MMapDirectory dir = new MMapDirectory(tmp.resolve("flat"))) {
        IndexWriterConfig config =
            new IndexWriterConfig().setCodec(codec).setMergePolicy(NoMergePolicy.INSTANCE);
        try (IndexWriter writer = new IndexWriter(dir, config)) {
          addSegment(writer);
          addSegment(writer);
          flat.set(false);
          addSegment(writer);
        }
        try (DirectoryReader reader = DirectoryReader.open(dir)) { // formats found by name again
          assertEquals(
              List.of(FlatVectorsFormat.NAME, FlatVectorsFormat.NAME, "Lucene99HnswVectorsFormat"),
              formats(reader));
          IndexSearcher searcher = new IndexSearcher(reader);
          // documents of the flat segments: whatever the graph segment adds, the exhaustive scan
          // of theirs finds them (a graph search's own misses are Lucene's, not tested here)
          for (int probe : new int[] {6, 702, 1398}) {
            float[] target = vectors.get(probe);
            TopDocs top = searcher.search(new KnnFloatVectorQuery(FIELD, target, 10), 10);
            assertEquals(probe, ids(searcher, top).get(0), "a document's own vector comes first");
            TopDocs even =
                searcher.search(
                    new KnnFloatVectorQuery(FIELD, target, 10, new TermQuery(new Term("half", "even"))), 10);
            List<Integer> got = ids(searcher, even);
            assertTrue(got.stream().allMatch(i -> i % 2 == 0), "the filter holds: " + got);
            assertEquals(probe, got.get(0), "an even document's own vector comes first");
          }
          // each flat segment's own search: exactly brute force over its documents
          float[] target = vectors.get(42);
          for (int seg = 0; seg < 2; seg++) {
            LeafReaderContext leaf = reader.leaves().get(seg);
            TopDocs top =
                leaf.reader()
                    .searchNearestVectors(FIELD, target, 10, leaf.reader().getLiveDocs(), Integer.MAX_VALUE);
            List<Integer> got = new ArrayList<>();
            for (ScoreDoc hit : top.scoreDocs) {
              got.add(leaf.reader().storedFields().document(hit.doc).getField("i").numericValue().intValue());
            }
            assertEquals(bruteForceOf(seg * PER_SEGMENT, (seg + 1) * PER_SEGMENT, target, 10), got, "segment " + seg);
          }
        }
        flat.set(true); // a merge builds the graph even while flushes are flat
        try (IndexWriter writer = new IndexWriter(dir, new IndexWriterConfig().setCodec(codec))) {
          writer.forceMerge(1);
        }
        try (DirectoryReader reader = DirectoryReader.open(dir)) {
          assertEquals(List.of("Lucene99HnswVectorsFormat"), formats(reader));
          IndexSearcher searcher = new IndexSearcher(reader);
          for (int probe : new int[] {5, 702, 1999}) {
            TopDocs top = searcher.search(new KnnFloatVectorQuery(FIELD, vectors.get(probe), 1), 1);
            assertEquals(probe, ids(searcher, top).get(0), "the merged graph finds a document's own vector");
          }
        }
      }
    }
  }

  private List<Integer> bruteForceOf(int from, int to, float[] target, int k) {
    return IntStream.range(from, to)
        .boxed()
        .sorted(Comparator.comparingDouble(i -> squaredDistance(target, vectors.get(i))))
        .limit(k)
        .toList();
  }

  /**
   * A lone flat segment: Lucene's own force-merge to one segment leaves it flat (nothing to
   * merge); through {@link FlatSegmentsMergePolicy} it is rewritten alone, with its graph.
   */
  @Test
  void aForceMergeRewritesEvenALoneFlatSegment() throws IOException {
    try (MergeWorkers workers = MergeWorkers.start(1)) {
      Codec codec =
          LookalikeCodecFactory.withVectorFormats(
              new Lucene912Codec(), f -> FIELD.equals(f) ? workers.floatFormat(16, 100, DIMS) : null, () -> true);
      for (boolean wrapped : new boolean[] {false, true}) {
        try (MMapDirectory dir = new MMapDirectory(tmp.resolve("lone-" + wrapped))) {
          try (IndexWriter writer = new IndexWriter(dir, new IndexWriterConfig().setCodec(codec))) {
            addSegment(writer);
          }
          try (DirectoryReader reader = DirectoryReader.open(dir)) {
            assertEquals(List.of(FlatVectorsFormat.NAME), formats(reader));
            SegmentInfos infos = SegmentInfos.readLatestCommit(dir);
            assertTrue(FlatSegmentsMergePolicy.isFlat(infos.info(0)), "the flushed segment is marked flat");
          }
          MergePolicy policy = new TieredMergePolicy();
          IndexWriterConfig config =
              new IndexWriterConfig().setCodec(codec).setMergePolicy(wrapped ? new FlatSegmentsMergePolicy(policy) : policy);
          try (IndexWriter writer = new IndexWriter(dir, config)) {
            writer.forceMerge(1);
          }
          try (DirectoryReader reader = DirectoryReader.open(dir)) {
            assertEquals(List.of(wrapped ? "Lucene99HnswVectorsFormat" : FlatVectorsFormat.NAME), formats(reader));
            assertEquals(!wrapped, FlatSegmentsMergePolicy.isFlat(SegmentInfos.readLatestCommit(dir).info(0)));
          }
        }
      }
    }
  }

  @Test
  void theFlagIsABoolOrTheTextOfOne() {
    assertTrue(LookalikeCodecFactory.parseFlag(Boolean.TRUE));
    assertTrue(LookalikeCodecFactory.parseFlag(" TRUE "));
    assertFalse(LookalikeCodecFactory.parseFlag("false"));
    assertFalse(LookalikeCodecFactory.parseFlag(null));
    SolrException e = assertThrows(SolrException.class, () -> LookalikeCodecFactory.parseFlag("yes"));
    assertTrue(e.getMessage().contains("flatFlushes must be true or false, got 'yes'"), e.getMessage());
    assertFalse(LookalikeCodecFactory.flatFlushes("no such core"));
  }
}
