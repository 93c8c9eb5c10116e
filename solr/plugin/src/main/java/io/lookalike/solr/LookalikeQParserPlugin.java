package io.lookalike.solr;

import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.search.QParser;
import org.apache.solr.search.QParserPlugin;

/**
 * {@code {!lookalike f=vector like=ID minSimilarity=0.5}}: exact similarity to one or several
 * examples, scored by {@link ExactVectorSimilarityQuery}. Register it in solrconfig.xml with
 * {@code <queryParser name="lookalike" class="io.lookalike.solr.LookalikeQParserPlugin"/>}.
 */
public class LookalikeQParserPlugin extends QParserPlugin {
  public static final String NAME = "lookalike";

  /** The dense vector field to score (required). */
  public static final String FIELD = "f";
  /** An inline target vector, {@code [0.1,0.2,...]}; the query string itself works too. */
  public static final String VECTOR = "vector";
  /** Ids of documents whose stored vectors are positive examples, comma separated. */
  public static final String LIKE = "like";
  /** Ids of documents whose stored vectors are negative examples, comma separated. */
  public static final String UNLIKE = "unlike";
  /** How several positive examples combine: {@code mean} (default) or {@code max}. */
  public static final String COMBINE = "combine";
  /** Weight of the best negative similarity subtracted from the positive one; default 1. */
  public static final String UNLIKE_WEIGHT = "unlikeWeight";
  /** Documents below this similarity (cosine units, -1..1) do not match; default: no threshold. */
  public static final String MIN_SIMILARITY = "minSimilarity";

  /** {@code exact} (the default), {@code approx} (HNSW) or {@code auto}: chosen per shard. */
  public static final String MODE = "mode";
  /**
   * {@code mode=auto} scans exactly when the pre-filter leaves at most this many on a shard;
   * default: the shard's crossover, {@link SearchPlan#crossover(int)} of its documents.
   */
  public static final String EXACT_MAX_DOCS = "exactMaxDocs";
  /** HNSW candidates per segment (approx without minSimilarity); default 200. */
  public static final String TOP_K = "topK";
  /** Tags of the {@code fq}'s that are the pre-filter (HNSW) and the count (auto); default all. */
  public static final String INCLUDE_TAGS = "includeTags";
  /** Approx with minSimilarity: the graph walk's lower bound (cosine); default minSimilarity - 0.1. */
  public static final String MIN_TRAVERSE = "minTraverse";
  /** A field (e.g. {@code group}): documents sharing a like example's value do not match. */
  public static final String EXCLUDE_GROUPS = "excludeGroups";
  /**
   * {@code true}: the like and unlike documents themselves do not match. They are left out of the
   * answer after the search, not by a pre-filter: a per-query {@code fq} of {@code -id:(...)}
   * would be a new DocSet of nearly every document for each query (about 2 ms at 500k), and the
   * HNSW search asks for {@code topK} plus their number so that the page stays full.
   */
  public static final String EXCLUDE_EXAMPLES = "excludeExamples";
  /** Added to the unit (Rocchio) target before it is normalised again: "more like this, but ...". */
  public static final String SHIFT = "shift";

  /** Called once per core: logs whether this JVM reads vectors in place ({@link VectorScans}). */
  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    VectorScans.logStatus("query parser registered");
  }

  @Override
  public QParser createParser(
      String qstr, SolrParams localParams, SolrParams params, SolrQueryRequest req) {
    return new LookalikeQParser(qstr, localParams, params, req);
  }
}
