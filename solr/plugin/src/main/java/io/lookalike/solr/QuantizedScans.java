package io.lookalike.solr;

import java.io.IOException;
import org.apache.lucene.index.LeafReader;

/**
 * Opens a {@link QuantizedScan} on a segment, when this JVM and that segment allow it.
 *
 * <p>The scan reads the quantized bytes where they lie, in the memory-mapped {@code .veq} file, with
 * the Vector API: the class that does it ({@code MappedQuantizedScan}, in {@code src/main/java22})
 * needs what the in-place float path needs ({@link VectorScans}: Java 22+, {@code
 * jdk.incubator.vector}, a JDK 22+ build) and is loaded by name, so the plugin still loads on Java
 * 17; {@code -Dlookalike.inPlaceVectors=false} switches it off with the float path. It takes only a
 * segment of Lucene's scalar quantized format whose every document has a vector, on an mmapped
 * input, with a {@code dot_product} field. For everything else (a flat-flushed segment of {@link
 * FlatVectorsFormat}, a sparse one, one in RAM, a wrapped reader, another JVM) {@link #open} answers
 * null and {@link QuantizedCandidatesQuery} keeps all of that segment's documents as candidates.
 */
final class QuantizedScans {
  /** The Java 22+ implementation, loaded by name. */
  static final String MAPPED_CLASS = "io.lookalike.solr.MappedQuantizedScan$Opener";

  /** Implemented by the Java 22+ class: a scan of {@code field} in {@code reader}, or null. */
  interface Opener {
    QuantizedScan open(LeafReader reader, String field, float[] unitTarget) throws IOException;
  }

  private static final Opener MAPPED;
  private static final String STATUS;

  static {
    Opener opener = null;
    String status;
    if (!VectorScans.inPlaceAvailable()) {
      status = "unavailable, as " + VectorScans.status();
    } else {
      VectorScans.Java22<Opener> loaded = VectorScans.java22(MAPPED_CLASS, Opener.class);
      opener = loaded.instance();
      status = loaded.status();
    }
    MAPPED = opener;
    STATUS = status;
  }

  private QuantizedScans() {}

  /** One line saying whether quantized copies can be scanned in this JVM, and why not. */
  static String status() {
    return "quantized scan " + STATUS;
  }

  static boolean available() {
    return MAPPED != null;
  }

  /**
   * A scan of {@code field}'s quantized copy in this segment for {@code unitTarget}, or null when
   * the segment (or the JVM) does not allow one.
   */
  static QuantizedScan open(LeafReader reader, String field, float[] unitTarget) throws IOException {
    return MAPPED == null ? null : MAPPED.open(reader, field, unitTarget);
  }
}
