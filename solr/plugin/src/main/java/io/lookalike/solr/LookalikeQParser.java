package io.lookalike.solr;

import static io.lookalike.solr.LookalikeQParserPlugin.COMBINE;
import static io.lookalike.solr.LookalikeQParserPlugin.EXACT_MAX_DOCS;
import static io.lookalike.solr.LookalikeQParserPlugin.EXCLUDE_EXAMPLES;
import static io.lookalike.solr.LookalikeQParserPlugin.EXCLUDE_GROUPS;
import static io.lookalike.solr.LookalikeQParserPlugin.INCLUDE_TAGS;
import static io.lookalike.solr.LookalikeQParserPlugin.MIN_TRAVERSE;
import static io.lookalike.solr.LookalikeQParserPlugin.MODE;
import static io.lookalike.solr.LookalikeQParserPlugin.SHIFT;
import static io.lookalike.solr.LookalikeQParserPlugin.TOP_K;
import static io.lookalike.solr.LookalikeQParserPlugin.FIELD;
import static io.lookalike.solr.LookalikeQParserPlugin.LIKE;
import static io.lookalike.solr.LookalikeQParserPlugin.MIN_SIMILARITY;
import static io.lookalike.solr.LookalikeQParserPlugin.UNLIKE;
import static io.lookalike.solr.LookalikeQParserPlugin.UNLIKE_WEIGHT;
import static io.lookalike.solr.LookalikeQParserPlugin.VECTOR;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.index.VectorEncoding;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.StrUtils;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.DenseVectorField;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.QParser;
import org.apache.solr.search.SyntaxError;

/**
 * Parses and validates {@code {!lookalike ...}} into an {@link ExactVectorSimilarityQuery}.
 *
 * <p>Parameters come from the local params ({@code {!lookalike f=vector like=a,b}}), or from the
 * request when used as {@code defType=lookalike}. The inline vector is {@code vector=[...]} or the
 * query text ({@code {!lookalike f=vector}[0.1,0.2,...]}); {@code like} ids add positive examples
 * to it. Every mistake a user can make is a 400 that names the parameter and what to do.
 */
public class LookalikeQParser extends QParser {
  /** At most this many ids in like plus unlike: each costs a lookup and a dot product per doc. */
  static final int MAX_EXAMPLES = 64;
  /** Candidates HNSW collects per segment in {@code mode=auto|approx}. */
  static final int DEFAULT_TOP_K = 200;
  /** How far below minSimilarity (cosine units) the approximate threshold search walks. */
  static final float DEFAULT_TRAVERSE_MARGIN = 0.1f;

  public LookalikeQParser(
      String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    super(qstr, localParams, params, req);
  }

  private String param(String name) {
    return localParams != null ? localParams.get(name) : params.get(name);
  }

  /** True when this parser is nested in another query or a function ({@code query($img)}). */
  boolean nested() {
    return recurseCount != 0;
  }

  @Override
  public Query parse() throws SyntaxError {
    SchemaField field = vectorField();
    DenseVectorField type = (DenseVectorField) field.getType();
    int dims = type.getDimension();

    List<float[]> likes = new ArrayList<>();
    String inline = param(VECTOR);
    if (inline == null && qstr != null && !qstr.isBlank()) {
      inline = qstr;
    }
    if (inline != null) {
      likes.add(parseVector(inline, dims, field.getName()));
    }
    Set<String> likeIds = ids(LIKE);
    Set<String> unlikeIds = ids(UNLIKE);
    if (likes.isEmpty() && likeIds.isEmpty()) {
      throw badRequest(
          "{!lookalike} needs a target: vector=[...] (or the vector as query text) or like=ID");
    }
    if (likeIds.size() + unlikeIds.size() > MAX_EXAMPLES) {
      throw badRequest(
          "like and unlike name "
              + (likeIds.size() + unlikeIds.size())
              + " ids together; at most "
              + MAX_EXAMPLES
              + " are allowed");
    }
    Combine combine = combine();
    float unlikeWeight = number(UNLIKE_WEIGHT, 1f);
    if (unlikeWeight < 0) {
      throw badRequest(UNLIKE_WEIGHT + " must be >= 0, got " + unlikeWeight);
    }
    float minSimilarity = number(MIN_SIMILARITY, ExactVectorSimilarityQuery.NO_THRESHOLD);
    if (minSimilarity != ExactVectorSimilarityQuery.NO_THRESHOLD
        && (minSimilarity < -1f || minSimilarity > 1f)) {
      throw badRequest(
          MIN_SIMILARITY + " is in cosine units and must be between -1 and 1, got " + minSimilarity);
    }

    SearchPlan.Options options = options(minSimilarity);
    Set<String> excluded = new LinkedHashSet<>();
    if (flag(EXCLUDE_EXAMPLES)) {
      excluded.addAll(likeIds);
      excluded.addAll(unlikeIds);
    }
    float[] shift = param(SHIFT) == null ? null : parseShift(param(SHIFT), dims, field.getName());
    if (shift != null && (combine == Combine.MAX && likes.size() + likeIds.size() > 1)) {
      throw badRequest(SHIFT + " moves one combined target: it does not go with combine=max");
    }
    if (SearchPlan.onCoordinator()) {
      // the shards parse, plan and run it; this node only merges their answers
      return new MatchNoDocsQuery("{!lookalike} is planned and run on each shard");
    }

    List<float[]> unlikes = new ArrayList<>();
    Map<String, String> groups = new LinkedHashMap<>();
    if (!likeIds.isEmpty() || !unlikeIds.isEmpty()) {
      Set<String> all = new LinkedHashSet<>(likeIds);
      all.addAll(unlikeIds);
      StoredVectors.Lookup found = lookup(field, all, options.groupField());
      requireFound(found, likeIds, LIKE, field.getName());
      requireFound(found, unlikeIds, UNLIKE, field.getName());
      likeIds.forEach(id -> likes.add(found.vectors().get(id)));
      unlikeIds.forEach(id -> unlikes.add(found.vectors().get(id)));
      likeIds.forEach(id -> groups.computeIfAbsent(found.groups().get(id), g -> id));
      groups.remove(null);
    }
    boolean exactOnly = (combine == Combine.MAX && likes.size() > 1) || !unlikes.isEmpty();
    try {
      ExactVectorSimilarityQuery exact;
      if (shift != null) {
        // moved along attribute directions: one target, the Rocchio combination shifted
        float[] moved = SearchPlan.movedTarget(likes, unlikes, unlikeWeight, shift);
        exact = exactQuery(field, type, List.of(moved), List.of(), Combine.MEAN, 1f, minSimilarity);
      } else if (!unlikes.isEmpty() && options.mode() == SearchPlan.Mode.APPROX) {
        float[] rocchio = SearchPlan.movedTarget(likes, unlikes, unlikeWeight, null);
        exact = exactQuery(field, type, List.of(rocchio), List.of(), Combine.MEAN, 1f, minSimilarity);
      } else {
        exact = exactQuery(field, type, likes, unlikes, combine, unlikeWeight, minSimilarity);
      }
      return SearchPlan.build(this, req, exact, exactOnly, groups.keySet(), excluded, options);
    } catch (IllegalArgumentException e) {
      throw badRequest(e.getMessage());
    } catch (IOException e) {
      throw new SolrException(SolrException.ErrorCode.SERVER_ERROR, "planning {!lookalike} failed", e);
    }
  }

  private static ExactVectorSimilarityQuery exactQuery(
      SchemaField field,
      DenseVectorField type,
      List<float[]> likes,
      List<float[]> unlikes,
      Combine combine,
      float unlikeWeight,
      float minSimilarity) {
    return new ExactVectorSimilarityQuery(
        field.getName(),
        likes.toArray(new float[0][]),
        unlikes.toArray(new float[0][]),
        combine,
        unlikeWeight,
        minSimilarity,
        type.getSimilarityFunction() == VectorSimilarityFunction.DOT_PRODUCT);
  }

  /** mode, exactMaxDocs, topK, includeTags, minTraverse and excludeGroups, checked. */
  private SearchPlan.Options options(float minSimilarity) {
    String modeText = param(MODE);
    SearchPlan.Mode mode = modeText == null ? SearchPlan.Mode.EXACT : SearchPlan.Mode.parse(modeText);
    if (mode == null) {
      throw badRequest(MODE + " must be 'exact', 'approx' or 'auto', got '" + abbreviate(modeText) + "'");
    }
    int exactMaxDocs =
        (int) Math.min(Integer.MAX_VALUE, positive(EXACT_MAX_DOCS, SearchPlan.CROSSOVER_RULE, 0));
    int topK = (int) positive(TOP_K, DEFAULT_TOP_K, 1);
    if (topK > 10_000) {
      throw badRequest(TOP_K + " must be at most 10000, got " + topK);
    }
    List<String> tags =
        param(INCLUDE_TAGS) == null ? List.of() : StrUtils.splitSmart(param(INCLUDE_TAGS), ',');
    float minTraverse =
        number(
            MIN_TRAVERSE,
            minSimilarity == ExactVectorSimilarityQuery.NO_THRESHOLD
                ? -1f
                : Math.max(-1f, minSimilarity - DEFAULT_TRAVERSE_MARGIN));
    if (minTraverse < -1f || minTraverse > 1f) {
      throw badRequest(MIN_TRAVERSE + " is in cosine units and must be between -1 and 1, got " + minTraverse);
    }
    SchemaField groupField = null;
    String groupName = param(EXCLUDE_GROUPS);
    if (groupName != null) {
      groupField = req.getSchema().getFieldOrNull(groupName.trim());
      if (groupField == null || !groupField.indexed() || !groupField.stored()) {
        throw badRequest(
            EXCLUDE_GROUPS + " must name an indexed and stored field of the schema, got '" + abbreviate(groupName) + "'");
      }
    }
    return new SearchPlan.Options(mode, exactMaxDocs, topK, tags, minTraverse, groupField);
  }

  private long positive(String name, int otherwise, int least) {
    String text = param(name);
    if (text == null) {
      return otherwise;
    }
    long x;
    try {
      x = Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw badRequest(name + " must be a whole number, got '" + abbreviate(text) + "'");
    }
    if (x < least) {
      throw badRequest(name + " must be at least " + least + ", got " + x);
    }
    return x;
  }

  private SchemaField vectorField() {
    String name = param(FIELD);
    if (name == null || name.isBlank()) {
      throw badRequest("missing parameter f: name the dense vector field, e.g. {!lookalike f=vector ...}");
    }
    SchemaField field = req.getSchema().getFieldOrNull(name);
    if (field == null) {
      throw badRequest("unknown field '" + name + "': f must name a dense vector field of the schema");
    }
    if (!(field.getType() instanceof DenseVectorField type)) {
      throw badRequest(
          "field '"
              + name
              + "' is a "
              + field.getType().getClass().getSimpleName()
              + ", not a DenseVectorField: f must name a dense vector field");
    }
    if (type.getVectorEncoding() != VectorEncoding.FLOAT32) {
      throw badRequest(
          "field '" + name + "' holds " + type.getVectorEncoding() + " vectors; {!lookalike} needs FLOAT32");
    }
    if (!field.indexed()) {
      throw badRequest("field '" + name + "' is not indexed, so it has no vectors to compare with");
    }
    return field;
  }

  /** The shift: numbers like a vector's, but all zeros is allowed (and means no move: null). */
  static float[] parseShift(String text, int dims, String fieldName) {
    float[] shift = parseNumbers(text, dims, fieldName, SHIFT);
    for (float x : shift) {
      if (x != 0f) {
        return shift;
      }
    }
    return null;
  }

  /** Parses {@code [0.1, 0.2]} or {@code 0.1,0.2}: finite numbers, exactly {@code dims} of them. */
  static float[] parseVector(String text, int dims, String fieldName) {
    float[] vector = parseNumbers(text, dims, fieldName, VECTOR);
    for (float x : vector) {
      if (x != 0f) {
        return vector;
      }
    }
    throw badRequest("vector is all zeros: similarity needs a direction, send a non-zero vector");
  }

  private static float[] parseNumbers(String text, int dims, String fieldName, String what) {
    String body = text.trim();
    if (body.startsWith("[")) {
      if (!body.endsWith("]")) {
        throw badRequest(what + " starts with '[' but does not end with ']': " + abbreviate(body));
      }
      body = body.substring(1, body.length() - 1);
    }
    String[] parts = body.split(",", -1);
    if (body.isBlank()) {
      parts = new String[0];
    }
    if (parts.length != dims) {
      throw badRequest(
          what + " has "
              + parts.length
              + " dimensions but field '"
              + fieldName
              + "' has "
              + dims
              + ": send exactly "
              + dims
              + " numbers");
    }
    float[] vector = new float[dims];
    for (int i = 0; i < dims; i++) {
      String part = parts[i].trim();
      float x;
      try {
        x = Float.parseFloat(part);
      } catch (NumberFormatException e) {
        throw badRequest(what + " element " + i + " is not a number: '" + abbreviate(part) + "'");
      }
      if (!Float.isFinite(x)) {
        throw badRequest(
            what + " element " + i + " is " + part + "; every element must be a finite number");
      }
      vector[i] = x;
    }
    return vector;
  }

  private Set<String> ids(String name) {
    String text = param(name);
    Set<String> ids = new LinkedHashSet<>();
    if (text == null) {
      return ids;
    }
    for (String part : text.split(",", -1)) {
      String id = part.trim();
      if (id.isEmpty()) {
        throw badRequest(name + " has an empty id: give ids separated by commas, e.g. " + name + "=a,b");
      }
      ids.add(id);
    }
    return ids;
  }

  private Combine combine() {
    String text = param(COMBINE);
    if (text == null) {
      return Combine.MEAN;
    }
    Combine combine = Combine.parse(text);
    if (combine == null) {
      throw badRequest(COMBINE + " must be 'mean' or 'max', got '" + abbreviate(text) + "'");
    }
    return combine;
  }

  private boolean flag(String name) {
    String text = param(name);
    if (text == null || text.trim().equalsIgnoreCase("false")) {
      return false;
    }
    if (text.trim().equalsIgnoreCase("true")) {
      return true;
    }
    throw badRequest(name + " must be true or false, got '" + abbreviate(text) + "'");
  }

  private float number(String name, float otherwise) {
    String text = param(name);
    if (text == null) {
      return otherwise;
    }
    float x;
    try {
      x = Float.parseFloat(text.trim());
    } catch (NumberFormatException e) {
      throw badRequest(name + " must be a number, got '" + abbreviate(text) + "'");
    }
    if (!Float.isFinite(x)) {
      throw badRequest(name + " must be a finite number, got '" + abbreviate(text) + "'");
    }
    return x;
  }

  private StoredVectors.Lookup lookup(SchemaField field, Set<String> ids, SchemaField groupField) {
    try {
      return StoredVectors.fetch(req, field, ids, groupField);
    } catch (IOException e) {
      throw new SolrException(
          SolrException.ErrorCode.SERVER_ERROR, "reading the vectors of " + ids + " failed", e);
    }
  }

  private static void requireFound(
      StoredVectors.Lookup found, Set<String> ids, String name, String fieldName) {
    for (String id : ids) {
      if (found.missing().contains(id)) {
        throw badRequest(
            name
                + ": no document with id '"
                + id
                + "' (check the id; new documents are visible after a commit)");
      }
      if (found.withoutVector().contains(id)) {
        throw badRequest(
            name + ": document '" + id + "' has no vector in field '" + fieldName + "'");
      }
    }
  }

  private static String abbreviate(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "...";
  }

  private static SolrException badRequest(String message) {
    return new SolrException(SolrException.ErrorCode.BAD_REQUEST, message);
  }
}
