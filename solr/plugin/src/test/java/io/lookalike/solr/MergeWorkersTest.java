package io.lookalike.solr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Random;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.codecs.perfield.PerFieldKnnVectorsFormat;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.util.NamedList;
import org.junit.jupiter.api.Test;

/**
 * {@code mergeWorkers}: read from the codec factory's init args (a value below 1 stops the core),
 * handed to every HNSW format, float and quantized, and used: a force merge of several segments
 * runs graph-building tasks on the factory's pool, and still completes after the pool is closed.
 */
class MergeWorkersTest {
  private static final String FIELD = "vector";
  private static final int DIMS = 16;

  private static NamedList<Object> args(Object mergeWorkers) {
    NamedList<Object> args = new NamedList<>();
    if (mergeWorkers != null) {
      args.add(MergeWorkers.PARAM, mergeWorkers);
    }
    return args;
  }

  @Test
  void theFactoryReadsMergeWorkersFromItsInitArgs() {
    LookalikeCodecFactory factory = new LookalikeCodecFactory();
    factory.init(args(3));
    assertEquals(3, factory.getMergeWorkers());

    LookalikeCodecFactory byDefault = new LookalikeCodecFactory();
    byDefault.init(args(null));
    int expected = Math.min(Runtime.getRuntime().availableProcessors(), 4);
    assertEquals(expected, byDefault.getMergeWorkers());
  }

  @Test
  void fewerThanOneWorkerOrNotAnIntIsAStartupError() {
    for (Object bad : List.of(0, -2)) {
      SolrException e =
          assertThrows(SolrException.class, () -> new LookalikeCodecFactory().init(args(bad)));
      assertTrue(e.getMessage().contains("mergeWorkers must be at least 1"), e.getMessage());
      assertTrue(e.getMessage().contains("got " + bad), e.getMessage());
    }
    SolrException e =
        assertThrows(SolrException.class, () -> new LookalikeCodecFactory().init(args("two")));
    assertTrue(e.getMessage().contains("must be an <int>"), e.getMessage());
  }

  @Test
  void everyHnswFormatReportsItsWorkersAndKeepsItsGraphParameters() {
    try (MergeWorkers workers = MergeWorkers.start(3)) {
      KnnVectorsFormat floats = workers.floatFormat(12, 90, DIMS);
      assertEquals("Lucene99HnswVectorsFormat", floats.getName());
      assertEquals(DIMS, floats.getMaxDimensions(FIELD));
      String text = floats.toString();
      assertTrue(text.contains("maxConn=12") && text.contains("beamWidth=90"), text);
      assertTrue(text.contains("mergeWorkers=3"), text);
      for (VectorQuantization q : VectorQuantization.values()) {
        KnnVectorsFormat quantized = q.format(12, 90, DIMS, workers);
        assertEquals("Lucene99HnswScalarQuantizedVectorsFormat", quantized.getName());
        assertTrue(quantized.toString().contains("mergeWorkers=3"), quantized.toString());
        assertTrue(quantized.toString().contains("bits=" + q.bits), quantized.toString());
      }
    }
    assertTrue(MergeWorkers.start(1).floatFormat(16, 100, DIMS).toString().contains("mergeWorkers=1"));
  }

  /** An executor that counts the tasks it is handed. */
  private static final class CountingExecutor extends AbstractExecutorService {
    final ExecutorService delegate = Executors.newFixedThreadPool(2);
    final AtomicInteger tasks = new AtomicInteger();

    @Override
    public void execute(Runnable command) {
      tasks.incrementAndGet();
      delegate.execute(command);
    }

    @Override
    public void shutdown() {
      delegate.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
      return delegate.shutdownNow();
    }

    @Override
    public boolean isShutdown() {
      return delegate.isShutdown();
    }

    @Override
    public boolean isTerminated() {
      return delegate.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
      return delegate.awaitTermination(timeout, unit);
    }
  }

  /** Writes 4 segments of {@code FIELD} with {@code format}, force-merges to one, kNN finds a doc. */
  private static void writeAndMerge(KnnVectorsFormat format) throws IOException {
    Function<String, KnnVectorsFormat> formats = f -> FIELD.equals(f) ? format : null;
    Codec codec = LookalikeCodecFactory.withVectorFormats(new Lucene912Codec(), formats, () -> false);
    assertEquals(
        format.toString(),
        ((PerFieldKnnVectorsFormat) codec.knnVectorsFormat()).getKnnVectorsFormatForField(FIELD).toString());
    Random random = new Random(20261202L);
    float[][] vectors = new float[2000][DIMS];
    try (Directory dir = new ByteBuffersDirectory()) {
      // Lucene's default merge policy leaves 4 small segments alone until the force merge
      IndexWriterConfig config = new IndexWriterConfig().setCodec(codec);
      try (IndexWriter writer = new IndexWriter(dir, config)) {
        for (int i = 0; i < vectors.length; i++) {
          for (int d = 0; d < DIMS; d++) {
            vectors[i][d] = random.nextFloat() - 0.5f;
          }
          Document doc = new Document();
          doc.add(new KnnFloatVectorField(FIELD, vectors[i], VectorSimilarityFunction.EUCLIDEAN));
          doc.add(new StoredField("i", i));
          writer.addDocument(doc);
          if ((i + 1) % 500 == 0) {
            writer.commit();
          }
        }
        writer.forceMerge(1);
      }
      try (DirectoryReader reader = DirectoryReader.open(dir)) {
        assertEquals(1, reader.leaves().size());
        TopDocs top = new IndexSearcher(reader).search(new KnnFloatVectorQuery(FIELD, vectors[1234], 1), 1);
        int found = reader.storedFields().document(top.scoreDocs[0].doc).getField("i").numericValue().intValue();
        assertEquals(1234, found, "the merged graph finds a document's own vector");
      }
    }
  }

  @Test
  void aForceMergeBuildsTheGraphOnTheWorkersPool() throws IOException {
    CountingExecutor pool = new CountingExecutor();
    try (MergeWorkers workers = MergeWorkers.start(2, pool)) {
      writeAndMerge(workers.floatFormat(16, 100, DIMS));
      int floatTasks = pool.tasks.get();
      assertTrue(floatTasks > 0, "the float merge ran no task on the pool");
      writeAndMerge(VectorQuantization.INT7.format(16, 100, DIMS, workers));
      assertTrue(pool.tasks.get() > floatTasks, "the quantized merge ran no task on the pool");
    }
  }

  @Test
  void aMergeAfterThePoolIsClosedStillCompletesOnTheMergingThread() throws IOException {
    MergeWorkers workers = MergeWorkers.start(2);
    workers.close();
    writeAndMerge(workers.floatFormat(16, 100, DIMS));
  }
}
