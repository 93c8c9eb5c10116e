package io.lookalike.solr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.solr.common.SolrException;
import org.junit.jupiter.api.Test;

/** The inline vector syntax; the rest of the parser needs a core and is tested over HTTP. */
class LookalikeQParserTest {

  @Test
  void acceptsBracketsSpacesAndExponents() {
    assertArrayEquals(
        new float[] {0.5f, -1f, 2e-3f},
        LookalikeQParser.parseVector(" [0.5, -1 ,2e-3] ", 3, "vector"));
    assertArrayEquals(new float[] {1f, 2f}, LookalikeQParser.parseVector("1,2", 2, "vector"));
  }

  @Test
  void wrongDimensionNamesBothNumbers() {
    SolrException e = bad("[1,2,3]", 4);
    assertEquals(
        "vector has 3 dimensions but field 'vector' has 4: send exactly 4 numbers", e.getMessage());
    assertEquals(
        "vector has 0 dimensions but field 'vector' has 4: send exactly 4 numbers",
        bad("[]", 4).getMessage());
  }

  @Test
  void nonNumbersAndNonFiniteNumbersAreNamedByPosition() {
    assertEquals("vector element 1 is not a number: 'abc'", bad("[1,abc]", 2).getMessage());
    assertEquals("vector element 0 is not a number: ''", bad("[,1]", 2).getMessage());
    assertEquals(
        "vector element 1 is NaN; every element must be a finite number",
        bad("[1,NaN]", 2).getMessage());
    assertEquals(
        "vector element 0 is 1e39; every element must be a finite number",
        bad("[1e39,1]", 2).getMessage());
    assertEquals(
        "vector starts with '[' but does not end with ']': [1,2", bad("[1,2", 2).getMessage());
    assertEquals(
        "vector is all zeros: similarity needs a direction, send a non-zero vector",
        bad("[0, 0.0]", 2).getMessage());
  }

  private static SolrException bad(String text, int dims) {
    SolrException e =
        assertThrows(SolrException.class, () -> LookalikeQParser.parseVector(text, dims, "vector"));
    assertEquals(SolrException.ErrorCode.BAD_REQUEST.code, e.code());
    return e;
  }
}
