package io.lookalike.solr;

import java.util.Locale;

/** How several positive examples make one similarity. */
public enum Combine {
  /** Similarity to the L2-normalised mean of the (normalised) examples: one dot product per doc. */
  MEAN,
  /** The best similarity over the examples: one dot product per example per doc. */
  MAX;

  /** {@code "mean"} or {@code "max"}, case-insensitive; null when the text names neither. */
  public static Combine parse(String text) {
    for (Combine c : values()) {
      if (c.name().equalsIgnoreCase(text.trim())) {
        return c;
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
