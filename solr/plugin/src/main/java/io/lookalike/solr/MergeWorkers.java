package io.lookalike.solr;

import java.io.Closeable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.solr.common.SolrException;

/**
 * How many threads build a merged segment's HNSW graph, and the pool they share. One worker is
 * Lucene's default: the merging thread alone, no pool. With more, every vector field's format gets
 * this pool, so concurrent merges of several fields or segments share {@code count} threads.
 *
 * <p>The pool's threads are daemons and time out when idle; a task handed to the pool after {@link
 * #close} runs on the merging thread instead of failing the merge.
 */
final class MergeWorkers implements Closeable {
  /** The codec factory's init arg in solrconfig.xml: {@code <int name="mergeWorkers">2</int>}. */
  static final String PARAM = "mergeWorkers";

  /** The default is the number of processors, at most this many. */
  static final int MAX_DEFAULT = 4;

  final int count;
  private final ExecutorService executor;

  private MergeWorkers(int count, ExecutorService executor) {
    this.count = count;
    this.executor = executor;
  }

  /** {@code min(available processors, 4)}. */
  static int defaultCount() {
    return Math.min(Runtime.getRuntime().availableProcessors(), MAX_DEFAULT);
  }

  /**
   * The value of the init arg: absent means {@link #defaultCount()}; anything but an integer of at
   * least 1 is an error naming the value.
   */
  static int parseCount(Object value) {
    if (value == null) {
      return defaultCount();
    }
    if (!(value instanceof Integer n)) {
      throw new SolrException(
          SolrException.ErrorCode.SERVER_ERROR,
          PARAM + " must be an <int> of at least 1, got " + value.getClass().getSimpleName()
              + " '" + value + "'");
    }
    if (n < 1) {
      throw new SolrException(
          SolrException.ErrorCode.SERVER_ERROR,
          PARAM + " must be at least 1 (1 merges on the merging thread alone), got " + n);
    }
    return n;
  }

  /** {@code count} workers; a pool of {@code count} threads when more than one. */
  static MergeWorkers start(int count) {
    return start(count, count == 1 ? null : pool(count));
  }

  /** {@code count} workers on {@code executor} (null exactly when count is 1). */
  static MergeWorkers start(int count, ExecutorService executor) {
    if (count < 1 || (count == 1) != (executor == null)) {
      throw new IllegalArgumentException(
          "one merge worker needs no executor, several need one: count=" + count);
    }
    return new MergeWorkers(count, executor);
  }

  private static ExecutorService pool(int count) {
    AtomicInteger n = new AtomicInteger();
    ThreadFactory threads =
        r -> {
          Thread t = new Thread(r, "lookalike-hnsw-merge-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            count,
            count,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            threads,
            (task, self) -> task.run());
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** For Lucene's HNSW formats: null for one worker, as they require. */
  ExecutorService executor() {
    return executor;
  }

  /** Lucene's float HNSW format with these graph parameters and workers, {@code dims} wide. */
  KnnVectorsFormat floatFormat(int maxConn, int beamWidth, int dims) {
    return new FieldVectorsFormat(
        new Lucene99HnswVectorsFormat(maxConn, beamWidth, count, executor), dims, count);
  }

  @Override
  public void close() {
    if (executor != null) {
      executor.shutdown();
    }
  }

  @Override
  public String toString() {
    return PARAM + "=" + count;
  }
}
