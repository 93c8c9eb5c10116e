package io.lookalike.solr;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.FloatVectorSimilarityQuery;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.BytesRefBuilder;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.params.CommonParams;
import org.apache.solr.common.params.SolrParams;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.common.util.StrUtils;
import org.apache.solr.handler.component.ResponseBuilder;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.request.SolrRequestInfo;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.PostFilter;
import org.apache.solr.search.QParser;
import org.apache.solr.search.QueryParsing;
import org.apache.solr.search.SolrIndexSearcher;
import org.apache.solr.search.SyntaxError;
import org.apache.solr.search.WrappedQuery;

/**
 * Exact scan or HNSW, chosen on each shard from what the filters leave there.
 *
 * <p>{@code mode=auto}: examples that only the exact definition can score ({@code combine=max}
 * over several, or {@code unlike}) are exact; otherwise the shard counts the documents its
 * pre-filter lets through (the {@code fq}'s tagged {@code includeTags}, each a DocSet from Solr's
 * filter cache) and scans them exactly when they are at most {@code exactMaxDocs} (by default the
 * shard's crossover, {@link #crossover(int)}), else searches
 * the HNSW graph with them as the pre-filter (Lucene's {@code KnnFloatVectorQuery}; with {@code
 * minSimilarity} its {@code FloatVectorSimilarityQuery}). It is the rule Lucene applies per
 * segment, falling back to an exact search when a filter is small, lifted to the shard so that
 * the choice is reported: the decision and its sentence go into the response under {@code
 * lookalike} ({@link PlanReportComponent} gathers the shards') and into {@code debug}.
 *
 * <p>Both paths score on Lucene's scale, {@code (1 + cosine) / 2}, so shards that chose
 * differently merge into one ranking.
 */
final class SearchPlan {
  /** Key of the plan in the response and in the debug section. */
  static final String KEY = "lookalike";

  enum Mode {
    AUTO,
    EXACT,
    APPROX;

    static Mode parse(String text) {
      for (Mode m : values()) {
        if (m.name().equalsIgnoreCase(text.trim())) {
          return m;
        }
      }
      return null;
    }

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** {@code exactMaxDocs} not given: each shard uses its own {@link #crossover(int)}. */
  static final int CROSSOVER_RULE = -1;
  /** The crossover's factor: {@code CROSSOVER_FACTOR * sqrt(shard documents)}. */
  static final double CROSSOVER_FACTOR = 120.0;
  /** The crossover's factor for a filter whose vectors are packed: see {@link #packedCrossover}. */
  static final double PACKED_CROSSOVER_FACTOR = 200.0;
  /** The crossover never falls below this many documents (small shards: exact is cheap). */
  static final int CROSSOVER_FLOOR = 20_000;

  /**
   * How many filtered documents an exact scan of this shard handles faster than HNSW. An exact
   * scan costs in proportion to the documents {@code n} that pass; a filtered HNSW walk visits
   * about {@code topK log N / (n / N)} nodes, as most neighbours it reaches fail the filter, so
   * the two meet near {@code n ~ sqrt(N)} (times topK and log terms that change slowly). The
   * factor comes from the API's own requests at 256 dims with topK 600 (BENCHMARKS.md,
   * "Similar-by-id at scale", 2026-12-03): at 500k a 10% filter (50k passing) scans in 8 ms of
   * QTime against HNSW's 21, at 1M a 10% filter (100k passing) in 18 against 26, and at 500k HNSW
   * under 20% takes 9 ms where the scan of 100k would take about 16: the crossover lies between
   * 71 and 141 sqrt(N) at 500k and between 100 and 200 sqrt(N) at 1M. (The earlier factor, 75,
   * was fitted to a sweep whose requests had no {@code includeTags}, so its scan was not the
   * block scan the API's requests get.)
   */
  static int crossover(int shardDocs) {
    return (int) Math.max(CROSSOVER_FLOOR, Math.round(CROSSOVER_FACTOR * Math.sqrt(Math.max(0, shardDocs))));
  }

  /** What this shard runs, and why. */
  record Decision(Mode mode, String reason) {}

  /** The shard-independent part: the mode asked for and its limits. */
  record Options(
      Mode mode,
      int exactMaxDocs,
      int topK,
      List<String> includeTags,
      float minTraverse,
      SchemaField groupField) {}

  private SearchPlan() {}

  /**
   * The query this shard runs for the targets {@code exact} scores exactly. Documents of {@code
   * excludedGroups} (values of the options' group field) are left out before the search, so
   * HNSW still finds {@code topK} others; the documents {@code excludedIds} names (the examples,
   * a few) after it, HNSW asking for that many more.
   */
  static Query build(
      QParser parser,
      SolrQueryRequest req,
      ExactVectorSimilarityQuery exact,
      boolean exactOnly,
      Collection<String> excludedGroups,
      Collection<String> excludedIds,
      Options options)
      throws SyntaxError, IOException {
    Query ids = excludedIds.isEmpty() ? null : termsQuery(req.getSchema().getUniqueKeyField(), excludedIds);
    Query query = build(parser, req, exact, exactOnly, excludedGroups, excludedIds.size(), options);
    return ids == null ? query : without(query, ids);
  }

  private static Query build(
      QParser parser,
      SolrQueryRequest req,
      ExactVectorSimilarityQuery exact,
      boolean exactOnly,
      Collection<String> excludedGroups,
      int extraTopK,
      Options options)
      throws SyntaxError, IOException {
    boolean main = isMain(parser);
    Query groups = excludedGroups.isEmpty() ? null : termsQuery(options.groupField(), excludedGroups);
    List<Query> prefilter = main ? prefilter(req, options.includeTags()) : List.of();
    Decision decision = decide(req, exact, exactOnly, options, main, prefilter);
    String quantization = quantizationOf(req, exact.getField());
    if (decision.mode() == Mode.APPROX && quantization != null) {
      decision =
          new Decision(
              Mode.APPROX,
              decision.reason()
                  + " on the "
                  + quantization
                  + " copies, the candidates rescored with the float32 vectors");
    }
    if (main) {
      report(decision);
    }
    if (decision.mode() == Mode.EXACT) {
      // with tagged filters the scan walks their documents itself, in blocks (see ScoredBlocks)
      // (no tagged filter: every live document, still in blocks; nothing else leads this scan)
      Query scan =
          options.includeTags().isEmpty()
              ? exact
              : exact.withFilters(prefilter.isEmpty() ? List.of(new MatchAllDocsQuery()) : prefilter);
      return groups == null ? scan : without(scan, groups);
    }
    Query filter = filterOf(req.getSearcher(), prefilter, groups);
    float[] target = exact.positiveTargets()[0];
    Query hnsw;
    if (exact.hasThreshold()) {
      float traverse = Math.max(-1f, Math.min(options.minTraverse(), exact.getMinSimilarity()));
      // on quantized copies the graph's scores are a little off: it keeps what is near the
      // threshold, and the float32 rescoring applies the threshold itself
      float result = quantization == null ? exact.getMinSimilarity() : traverse;
      hnsw =
          new FloatVectorSimilarityQuery(
              exact.getField(),
              target,
              ExactVectorSimilarityQuery.scoreOf(traverse),
              ExactVectorSimilarityQuery.scoreOf(result),
              filter);
    } else {
      // the graph is searched in rewrite: once per request, however often Solr rewrites
      hnsw =
          new SearchedOnce(
              new KnnFloatVectorQuery(exact.getField(), target, options.topK() + extraTopK, filter));
    }
    return quantization == null ? hnsw : rescored(exact, target, hnsw);
  }

  /** int7/int4 when {@code field}'s type is quantized ({@link QuantizedDenseVectorField}), else null. */
  private static String quantizationOf(SolrQueryRequest req, String field) {
    SchemaField schemaField = req.getSchema().getFieldOrNull(field);
    return schemaField != null && schemaField.getType() instanceof QuantizedDenseVectorField q
        ? q.getQuantization()
        : null;
  }

  /**
   * The HNSW candidates ({@code hnsw}, searched on quantized copies) scored again from the float32
   * vectors for {@code target}: the exact scan with the candidates as its only pre-filter (not
   * cached: each query's candidates are its own), so the ranking and scores are the float ones,
   * on the same scale as a float collection's HNSW.
   */
  static Query rescored(ExactVectorSimilarityQuery exact, float[] target, Query hnsw) {
    WrappedQuery candidates = new WrappedQuery(hnsw);
    candidates.setCache(false);
    return new ExactVectorSimilarityQuery(
            exact.getField(),
            new float[][] {target},
            new float[0][],
            Combine.MEAN,
            0f,
            exact.getMinSimilarity(),
            exact.docVectorsAreUnit())
        .withFilters(List.of(candidates));
  }

  /**
   * True on the node that only merges shard answers (a distributed request's coordinator): it
   * never runs the query, so it needs neither the examples' vectors nor a plan.
   */
  static boolean onCoordinator() {
    SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
    ResponseBuilder rb = info == null ? null : info.getResponseBuilder();
    return rb != null && rb.isDistributed();
  }

  /** The request's main query, not a filter or a clause nested in another query or function. */
  private static boolean isMain(QParser parser) {
    return !parser.isFilter() && !((LookalikeQParser) parser).nested();
  }

  private static Decision decide(
      SolrQueryRequest req,
      ExactVectorSimilarityQuery exact,
      boolean exactOnly,
      Options options,
      boolean main,
      List<Query> prefilter)
      throws IOException {
    switch (options.mode()) {
      case EXACT:
        return new Decision(Mode.EXACT, "mode=exact was asked for");
      case APPROX:
        if (exact.getCombine() == Combine.MAX) {
          throw new SolrException(
              SolrException.ErrorCode.BAD_REQUEST,
              "combine=max needs mode=exact (or auto); approx search uses one combined vector");
        }
        return new Decision(Mode.APPROX, "mode=approx was asked for");
      default:
        break;
    }
    if (exactOnly) {
      return new Decision(Mode.EXACT, "combine=max and unlike examples are exact-only");
    }
    if (!main) {
      return new Decision(Mode.EXACT, "a nested {!lookalike} has no pre-filter to plan with: exact");
    }
    int count = count(req.getSearcher(), prefilter);
    int limit = options.exactMaxDocs();
    String rule = "";
    if (limit == CROSSOVER_RULE) {
      int docs = req.getSearcher().numDocs();
      limit = crossover(docs);
      rule = ", the crossover of its " + docs + " documents";
    }
    if (count <= limit) {
      return new Decision(
          Mode.EXACT, "filters leave " + count + " products on this shard (<= " + limit + rule + "): exact scan");
    }
    String approx = "filters leave " + count + " products on this shard (> " + limit + rule + "): HNSW kNN";
    if (options.exactMaxDocs() != CROSSOVER_RULE || !scansPacked(req, exact, options)) {
      return new Decision(Mode.APPROX, approx);
    }
    int docs = req.getSearcher().numDocs();
    int packedLimit = packedCrossover(docs);
    if (count > packedLimit) {
      return new Decision(Mode.APPROX, approx);
    }
    List<Query> scanned = prefilter.isEmpty() ? List.of(new MatchAllDocsQuery()) : prefilter;
    switch (FilterVectors.heat(req.getSearcher(), exact.getField(), exact.dimension(), scanned, count)) {
      case PACKED:
      case SEEN:
        return new Decision(
            Mode.EXACT,
            "filters leave " + count + " products on this shard (<= " + packedLimit
                + ", the crossover of its " + docs + " documents for a filter packed in int8): exact scan");
      case COLD:
        return new Decision(Mode.APPROX, approx + " (an exact scan of the packed filter if it is asked again)");
      default:
        return new Decision(Mode.APPROX, approx);
    }
  }

  /**
   * How many filtered documents an exact scan of this shard handles faster than HNSW when it
   * reads the filter's int8 copy ({@link FilterVectors}): measured at 500k x 256 in one hour of one
   * machine, the packed scan of a 30% filter took QTime 8.5 ms and HNSW under it 8 ms (20%: about
   * 6 against 13), so the crossover lies near 212 sqrt(N) there; {@link #PACKED_CROSSOVER_FACTOR}
   * stays a little under it.
   */
  static int packedCrossover(int shardDocs) {
    return (int) Math.max(CROSSOVER_FLOOR, Math.round(PACKED_CROSSOVER_FACTOR * Math.sqrt(Math.max(0, shardDocs))));
  }

  /**
   * Whether this request's exact scan would read the filter's packed copy: the plain dot product of
   * one target over the tagged filters' documents, where documents can be passed over (a top-N set
   * with {@code minExactCount}, or a threshold).
   */
  private static boolean scansPacked(SolrQueryRequest req, ExactVectorSimilarityQuery exact, Options options) {
    if (options.includeTags().isEmpty() || exact.similarity().plainDotTarget() == null) {
      return false;
    }
    int minExact = req.getParams().getInt(CommonParams.MIN_EXACT_COUNT, Integer.MAX_VALUE);
    return exact.hasThreshold() || minExact < Integer.MAX_VALUE;
  }

  /** The request's {@code fq}'s whose tag is one of {@code tags} (all of them without tags). */
  private static List<Query> prefilter(SolrQueryRequest req, List<String> tags) throws SyntaxError {
    String[] fqs = req.getParams().getParams(CommonParams.FQ);
    List<Query> out = new ArrayList<>();
    if (fqs == null) {
      return out;
    }
    for (String fq : fqs) {
      if (fq == null || fq.isBlank()) {
        continue;
      }
      if (!tags.isEmpty()) {
        SolrParams local = QueryParsing.getLocalParams(fq, req.getParams());
        String tag = local == null ? null : local.get(CommonParams.TAG);
        if (tag == null || StrUtils.splitSmart(tag, ',').stream().noneMatch(tags::contains)) {
          continue;
        }
      }
      QParser fqParser = QParser.getParser(fq, req);
      fqParser.setIsFilter(true);
      Query q = fqParser.getQuery();
      if (q != null && !(q instanceof PostFilter)) {
        out.add(q);
      }
    }
    return out;
  }

  /** Documents the filters let through on this shard (cached DocSets: no scan when warm). */
  private static int count(SolrIndexSearcher searcher, List<Query> filters) throws IOException {
    if (filters.isEmpty()) {
      return searcher.numDocs();
    }
    return searcher.getDocSet(filters).size();
  }

  private static Query filterOf(SolrIndexSearcher searcher, List<Query> filters, Query groups)
      throws IOException {
    Query filter = filters.isEmpty() ? null : searcher.getProcessedFilter(null, filters).filter;
    if (groups == null) {
      return filter;
    }
    return without(filter == null ? new MatchAllDocsQuery() : filter, groups);
  }

  private static Query without(Query query, Query excluded) {
    return new BooleanQuery.Builder()
        .add(query, BooleanClause.Occur.MUST)
        .add(excluded, BooleanClause.Occur.MUST_NOT)
        .build();
  }

  /** Documents whose {@code field} holds one of {@code values} (readable, e.g. ids or groups). */
  private static Query termsQuery(SchemaField field, Collection<String> values) {
    List<BytesRef> terms = new ArrayList<>(values.size());
    for (String g : values) {
      BytesRefBuilder b = new BytesRefBuilder();
      field.getType().readableToIndexed(g, b);
      terms.add(b.toBytesRef());
    }
    return new TermInSetQuery(field.getName(), terms);
  }

  /** Puts the decision in the response and, with debugQuery, in the debug section. */
  /**
   * Adds how the exact scan reads the filter's vectors ({@link FilterVectors}) to this request's
   * plan, as {@code vectors}; nothing outside a request or before its plan. The request's first
   * weight says it: Solr may build a second one to score a sorted page's hits, which reads the
   * copy the first made.
   */
  static void noteVectors(String how) {
    SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
    if (info == null || info.getRsp() == null) {
      return;
    }
    if (info.getRsp().getValues().get(KEY) instanceof SimpleOrderedMap<?> plan) {
      @SuppressWarnings("unchecked")
      SimpleOrderedMap<Object> p = (SimpleOrderedMap<Object>) plan;
      if (p.indexOf("vectors", 0) < 0) {
        p.add("vectors", how);
      }
    }
  }

  private static void report(Decision decision) {
    SolrRequestInfo info = SolrRequestInfo.getRequestInfo();
    if (info == null || info.getRsp() == null) {
      return;
    }
    SimpleOrderedMap<Object> plan = new SimpleOrderedMap<>();
    plan.add("mode", decision.mode().label());
    plan.add("reason", decision.reason());
    int at = info.getRsp().getValues().indexOf(KEY, 0);
    if (at >= 0) {
      info.getRsp().getValues().setVal(at, plan); // parsed again (a later phase): the last plan
    } else {
      info.getRsp().add(KEY, plan);
    }
    ResponseBuilder rb = info.getResponseBuilder();
    if (rb != null && rb.isDebug()) {
      rb.addDebugInfo(KEY, decision.mode().label() + ": " + decision.reason());
    }
  }

  /**
   * The Rocchio target of approximate search with several examples, moved by {@code shift}: {@code
   * unit(unit(mean(unit likes) - w * mean(unit unlikes)) + shift)}, in double precision.
   */
  static float[] movedTarget(List<float[]> likes, List<float[]> unlikes, float weight, float[] shift) {
    int dims = likes.get(0).length;
    double[] t = new double[dims];
    for (float[] v : likes) {
      addUnit(t, v, 1.0 / likes.size());
    }
    for (float[] v : unlikes) {
      addUnit(t, v, -weight / unlikes.size());
    }
    double norm = norm(t);
    if (norm < 1e-12) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "the combined target has length zero (the negative examples cancel the positive ones)");
    }
    float[] out = new float[dims];
    for (int i = 0; i < dims; i++) {
      t[i] = t[i] / norm + (shift == null ? 0.0 : shift[i]);
    }
    double moved = norm(t);
    if (!(moved >= 1e-9) || !Double.isFinite(moved)) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "shift cancels the target out: send a shorter shift (a lower direction weight)");
    }
    for (int i = 0; i < dims; i++) {
      out[i] = (float) (t[i] / moved);
    }
    return out;
  }

  private static void addUnit(double[] into, float[] v, double weight) {
    double n = 0;
    for (float x : v) {
      n += (double) x * x;
    }
    double scale = weight / Math.sqrt(n);
    for (int i = 0; i < v.length; i++) {
      into[i] += v[i] * scale;
    }
  }

  private static double norm(double[] v) {
    return Math.sqrt(Arrays.stream(v).map(x -> x * x).sum());
  }
}
