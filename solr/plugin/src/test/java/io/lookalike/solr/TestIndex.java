package io.lookalike.solr;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;

/**
 * A small real index for the query tests: several segments (no merging), some documents without
 * a vector, some deleted, a {@code color} attribute to filter on. Keeps the raw vectors so tests
 * can compute the expected answer by brute force in double precision.
 *
 * <p>By default in RAM, 8 dimensions, every 7th document without a vector (sparse segments, read
 * by copying). The other constructor takes a directory (an {@code MMapDirectory} gives mmapped
 * segments), a width and whether every document has a vector (dense segments): what {@link
 * VectorScans} needs to read vectors in place.
 */
final class TestIndex implements Closeable {
  static final String FIELD = "vector";
  static final int DIMS = 8;
  static final int DOCS = 600;
  static final int DOCS_PER_SEGMENT = 100;

  /** One document as indexed: its id, color, raw vector (null when it has none), liveness. */
  record Doc(String id, String color, float[] vector, boolean live) {}

  final List<Doc> docs = new ArrayList<>();
  final Directory directory;
  final int dims;
  final DirectoryReader reader;
  final IndexSearcher searcher;

  TestIndex(VectorSimilarityFunction similarity, boolean unitVectors) throws IOException {
    this(similarity, unitVectors, new ByteBuffersDirectory(), DIMS, false);
  }

  TestIndex(
      VectorSimilarityFunction similarity,
      boolean unitVectors,
      Directory directory,
      int dims,
      boolean everyDocHasVector)
      throws IOException {
    this(similarity, unitVectors, directory, dims, everyDocHasVector, true);
  }

  /** As above; {@code deletions} false keeps every document live. */
  TestIndex(
      VectorSimilarityFunction similarity,
      boolean unitVectors,
      Directory directory,
      int dims,
      boolean everyDocHasVector,
      boolean deletions)
      throws IOException {
    this(similarity, unitVectors, directory, dims, everyDocHasVector, deletions, null);
  }

  /** As above, written with {@code codec} (null: Lucene's default). */
  TestIndex(
      VectorSimilarityFunction similarity,
      boolean unitVectors,
      Directory directory,
      int dims,
      boolean everyDocHasVector,
      boolean deletions,
      Codec codec)
      throws IOException {
    this.directory = directory;
    this.dims = dims;
    Random random = new Random(20261123L);
    IndexWriterConfig config = new IndexWriterConfig().setMergePolicy(NoMergePolicy.INSTANCE);
    if (codec != null) {
      config.setCodec(codec).setUseCompoundFile(false);
    }
    try (IndexWriter writer = new IndexWriter(directory, config)) {
      for (int i = 0; i < DOCS; i++) {
        String id = "doc" + i;
        String color = i % 10 == 3 ? "red" : "other";
        float[] vector =
            i % 7 == 5 && !everyDocHasVector ? null : randomVector(random, dims, unitVectors);
        boolean live = !deletions || i % 11 != 4;
        docs.add(new Doc(id, color, vector, live));
        Document doc = new Document();
        doc.add(new StringField("id", id, Field.Store.YES));
        doc.add(new StringField("color", color, Field.Store.NO));
        if (vector != null) {
          doc.add(new KnnFloatVectorField(FIELD, vector, similarity));
        }
        writer.addDocument(doc);
        if ((i + 1) % DOCS_PER_SEGMENT == 0) {
          writer.commit();
        }
      }
      for (Doc doc : docs) {
        if (!doc.live()) {
          writer.deleteDocuments(new Term("id", doc.id()));
        }
      }
      writer.commit();
    }
    reader = DirectoryReader.open(directory);
    searcher = new IndexSearcher(reader);
  }

  /**
   * Searches {@code q} again with every segment on its own thread and asserts the same hits and
   * scores as {@code single} (the query is shared by the search's threads).
   */
  void assertSameHitsWithThreads(Query q, TopDocs single) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      IndexSearcher threaded =
          new IndexSearcher(reader, pool) {
            @Override
            protected LeafSlice[] slices(List<LeafReaderContext> leaves) {
              return slices(leaves, 1, 1); // one segment per slice: every segment on its own thread
            }
          };
      TopDocs multi = threaded.search(q, DOCS);
      assertEquals(single.totalHits.value, multi.totalHits.value);
      for (int i = 0; i < single.scoreDocs.length; i++) {
        assertEquals(single.scoreDocs[i].doc, multi.scoreDocs[i].doc);
        // within a float's last bits: a fresh-clone run once saw 0.6096781 against 0.60967803 for
        // the same document under a filter (the blocked in-place scan); why the threaded search
        // rounds differently is not yet known. The documents and their order are asserted above.
        assertEquals(single.scoreDocs[i].score, multi.scoreDocs[i].score, 1e-6f);
      }
    } finally {
      pool.shutdown();
    }
  }

  static float[] randomVector(Random random, int dims, boolean unit) {
    float[] v = new float[dims];
    for (int d = 0; d < dims; d++) {
      v[d] = (float) (random.nextGaussian() * 2.5);
    }
    return unit ? unit(v) : v;
  }

  /** {@code v} scaled to unit length, in place. */
  static float[] unit(float[] v) {
    double squared = 0;
    for (float x : v) {
      squared += x * x;
    }
    for (int d = 0; d < v.length; d++) {
      v[d] = (float) (v[d] / Math.sqrt(squared));
    }
    return v;
  }

  float[] vectorOf(String id) {
    return docs.stream().filter(d -> d.id().equals(id)).findFirst().orElseThrow().vector().clone();
  }

  String idOf(int docId) throws IOException {
    return searcher.storedFields().document(docId).get("id");
  }

  int docIdOf(String id) throws IOException {
    var hits = searcher.search(new org.apache.lucene.search.TermQuery(new Term("id", id)), 1);
    return hits.scoreDocs[0].doc;
  }

  /** Live documents with a vector, as (id, expected similarity), best first. */
  List<Expected> bruteForce(BruteForce sim, String onlyColor) {
    List<Expected> out = new ArrayList<>();
    for (Doc doc : docs) {
      if (doc.live() && doc.vector() != null && (onlyColor == null || onlyColor.equals(doc.color()))) {
        out.add(new Expected(doc.id(), sim.similarity(doc.vector())));
      }
    }
    out.sort(Comparator.comparingDouble(Expected::similarity).reversed());
    return out;
  }

  record Expected(String id, double similarity) {}

  @Override
  public void close() throws IOException {
    reader.close();
    directory.close();
  }
}
