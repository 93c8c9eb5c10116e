package io.lookalike.solr;

import org.apache.solr.common.util.NamedList;
import org.apache.solr.common.util.SimpleOrderedMap;
import org.apache.solr.handler.component.ResponseBuilder;
import org.apache.solr.handler.component.SearchComponent;
import org.apache.solr.handler.component.ShardRequest;
import org.apache.solr.handler.component.ShardResponse;

/**
 * Carries each shard's {@code {!lookalike}} plan ({@link SearchPlan}) into a distributed
 * response: {@code lookalike: {mode, reason, shards: {shard1: {mode, reason}, ...}}}. The answer's
 * mode is {@code exact} when every shard scanned exactly, else {@code approx}; the reason names
 * each shard's. On one shard the parser puts its plan in the response itself.
 *
 * <p>Registered in the products configset as a last component of {@code /select}.
 */
public class PlanReportComponent extends SearchComponent {
  @Override
  public void prepare(ResponseBuilder rb) {}

  @Override
  public void process(ResponseBuilder rb) {}

  @Override
  public void handleResponses(ResponseBuilder rb, ShardRequest sreq) {
    if ((sreq.purpose & ShardRequest.PURPOSE_GET_TOP_IDS) == 0) {
      return;
    }
    SimpleOrderedMap<Object> shards = new SimpleOrderedMap<>();
    boolean allExact = true;
    StringBuilder reason = new StringBuilder();
    for (ShardResponse srsp : sreq.responses) {
      if (srsp.getSolrResponse() == null || srsp.getSolrResponse().getResponse() == null) {
        continue;
      }
      Object plan = srsp.getSolrResponse().getResponse().get(SearchPlan.KEY);
      if (!(plan instanceof NamedList<?> p)) {
        continue;
      }
      String name = shardName(rb, srsp);
      shards.add(name, plan);
      allExact &= "exact".equals(p.get("mode"));
      if (reason.length() > 0) {
        reason.append("; ");
      }
      reason.append(name).append(": ").append(p.get("reason"));
      if (p.get("vectors") != null) {
        reason.append(", ").append(p.get("vectors")); // how its exact scan read the filter's vectors
      }
    }
    if (shards.size() == 0) {
      return;
    }
    SimpleOrderedMap<Object> merged = new SimpleOrderedMap<>();
    merged.add("mode", allExact ? "exact" : "approx");
    merged.add("reason", reason.toString());
    merged.add("shards", shards);
    int at = rb.rsp.getValues().indexOf(SearchPlan.KEY, 0);
    if (at >= 0) {
      rb.rsp.getValues().setVal(at, merged);
    } else {
      rb.rsp.add(SearchPlan.KEY, merged);
    }
  }

  /** The shard's slice name (shard1, ...) when the request knows it, else its address. */
  private static String shardName(ResponseBuilder rb, ShardResponse srsp) {
    String shard = srsp.getShard();
    if (rb.shards != null && rb.slices != null) {
      for (int i = 0; i < rb.shards.length && i < rb.slices.length; i++) {
        if (rb.shards[i] != null && rb.shards[i].equals(shard) && rb.slices[i] != null) {
          return rb.slices[i];
        }
      }
    }
    return shard;
  }

  @Override
  public String getDescription() {
    return "the {!lookalike} plan (exact or HNSW) of each shard";
  }
}
