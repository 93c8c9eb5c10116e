package io.lookalike.solr;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import org.apache.lucene.index.FloatVectorValues;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses how a segment's vectors are read.
 *
 * <p>{@link Path#HEAP_COPY} works everywhere: {@link FloatVectorValues#vectorValue()} copies each
 * vector from the index file into a reused {@code float[]} and {@code VectorUtil} computes the dot
 * products (SIMD when Lucene's Panama support is on). On one 100k x 1024 segment the copy alone
 * costs about as much as the dot products.
 *
 * <p>{@link Path#IN_PLACE} reads the vectors where they are, in the memory-mapped {@code .vec}
 * file, with the Vector API. It needs Java 22+ (the final foreign-memory API) with the {@code
 * jdk.incubator.vector} module, and a segment whose values are Lucene's dense off-heap float
 * values (every document has a vector, so ordinal = document) on an mmapped input. The class that
 * does it ({@code MappedVectorScan}, in {@code src/main/java22}) is compiled only by a JDK 22+
 * build and loaded by name only when the running JVM can link it, so the plugin still loads on
 * Java 17. Anything else (sparse segments, a reader wrapped by {@code ExitableDirectoryReader},
 * quantized or in-RAM segments, an older JVM) takes the heap copy.
 *
 * <p>{@code -Dlookalike.inPlaceVectors=false} switches the in-place path off.
 */
final class VectorScans {
  private static final Logger log = LoggerFactory.getLogger(MethodHandles.lookup().lookupClass());

  /** The Java 22+ implementation, loaded by name. */
  static final String IN_PLACE_CLASS = "io.lookalike.solr.MappedVectorScan$Opener";

  /** Implemented by the Java 22+ class: an in-place scan of {@code values}, or null if it can't. */
  interface Opener {
    VectorScan open(FloatVectorValues values, TargetSimilarity similarity) throws IOException;

    /**
     * Dot products of {@code target} with int8 rows ({@code dims} codes a row, row-major, each
     * row scaled by its {@code scales} entry), or null if it can't.
     */
    CodeScan openCodes(byte[] codes, float[] scales, int dims, float[] target);
  }

  /** How vectors are read. */
  enum Path {
    HEAP_COPY("vectors copied to the heap"),
    IN_PLACE("vectors read in place from the mmapped index file"),
    PACKED(
        "the filter's packed int8 copy ("
            + FilterVectors.CACHE
            + " cache), exact from the mmapped file where a document may compete");

    final String description;

    Path(String description) {
      this.description = description;
    }
  }

  private static final Opener IN_PLACE;
  private static final String STATUS;

  static {
    Opener opener = null;
    String status;
    int feature = Runtime.version().feature();
    if (!Boolean.parseBoolean(System.getProperty("lookalike.inPlaceVectors", "true"))) {
      status = "off (-Dlookalike.inPlaceVectors=false)";
    } else if (feature < 22) {
      status = "unavailable: Java " + feature + " (needs 22+)";
    } else if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      status = "unavailable: the JVM lacks --add-modules jdk.incubator.vector";
    } else {
      try {
        opener =
            Class.forName(IN_PLACE_CLASS, true, VectorScans.class.getClassLoader())
                .asSubclass(Opener.class)
                .getDeclaredConstructor()
                .newInstance();
        status = "available (Java " + feature + ", Vector API " + opener + ")";
      } catch (ClassNotFoundException e) {
        status = "unavailable: the plugin was built without it (build with a JDK 22+)";
      } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
        status = "unavailable: " + e;
      }
    }
    IN_PLACE = opener;
    STATUS = status;
  }

  private VectorScans() {}

  /** One line saying whether the in-place path can be used in this JVM, and why not. */
  static String status() {
    return "in-place vector reading " + STATUS;
  }

  static boolean inPlaceAvailable() {
    return IN_PLACE != null;
  }

  static void logStatus(String where) {
    log.info("{!lookalike} {}: {}", where, status());
  }

  /** The fastest scan this JVM and segment allow. */
  static VectorScan open(FloatVectorValues values, TargetSimilarity similarity) throws IOException {
    if (IN_PLACE != null) {
      VectorScan scan = IN_PLACE.open(values, similarity);
      if (scan != null) {
        return scan;
      }
    }
    return heapCopy(values, similarity);
  }

  /**
   * Dot products with a filter's int8 rows (see {@link FilterVectors}), or null when the in-place
   * path is unavailable in this JVM.
   */
  static CodeScan codes(byte[] codes, float[] scales, int dims, float[] target) {
    return IN_PLACE == null ? null : IN_PLACE.openCodes(codes, scales, dims, target);
  }

  /** The scan that works everywhere. */
  static VectorScan heapCopy(FloatVectorValues values, TargetSimilarity similarity) {
    TargetSimilarity.ArrayVector current = new TargetSimilarity.ArrayVector(null);
    return new VectorScan() {
      @Override
      public float similarity() throws IOException {
        current.vector = values.vectorValue();
        return similarity.similarity(current);
      }

      @Override
      public Path path() {
        return Path.HEAP_COPY;
      }
    };
  }
}
