package io.lookalike.solr;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Dot products of one target with the int8 rows of a filter's packed copy ({@link
 * FilterVectors}), in SIMD: as many codes as the float vector has lanes are loaded and widened to
 * floats in the register, then multiplied with the target as the float kernel does ({@link
 * MappedVectorScan#sum}, the same fixed order in every tier). The rows stream from the heap at a
 * quarter of the bytes of float32 ones.
 */
final class CodeDots implements CodeScan {
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = FLOATS.length();

  /** One byte per float lane, or null where no vector is that narrow (4 lanes: 32 bits). */
  private static final VectorSpecies<Byte> CODES = codeSpecies();

  private final byte[] codes;
  private final float[] scales;
  private final int dims;
  private final float[] target;

  CodeDots(byte[] codes, float[] scales, int dims, float[] target) {
    if (target.length != dims) {
      throw new IllegalArgumentException("a target of " + target.length + " dimensions for rows of " + dims);
    }
    this.codes = codes;
    this.scales = scales;
    this.dims = dims;
    this.target = target;
  }

  @Override
  public void dots(int[] rows, int n, float[] out) {
    for (int j = 0; j < n; j++) {
      int r = rows[j];
      out[j] = scales[r] * dot(r * dims);
    }
  }

  private float dot(int o) {
    int i = 0;
    float s = 0f;
    if (CODES != null) {
      FloatVector a = FloatVector.zero(FLOATS);
      for (int bound = dims - LANES; i <= bound; i += LANES) {
        FloatVector c = (FloatVector) ByteVector.fromArray(CODES, codes, o + i).castShape(FLOATS, 0);
        a = FloatVector.fromArray(FLOATS, target, i).fma(c, a);
      }
      s = MappedVectorScan.sum(a);
    }
    for (; i < dims; i++) {
      s += target[i] * codes[o + i];
    }
    return s;
  }

  private static VectorSpecies<Byte> codeSpecies() {
    try {
      return VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * Byte.SIZE));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
