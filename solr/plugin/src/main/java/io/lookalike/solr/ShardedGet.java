package io.lookalike.solr;

import java.security.Principal;
import java.util.Collection;
import java.util.List;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrDocumentList;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.params.CommonParams;
import org.apache.solr.common.params.ModifiableSolrParams;
import org.apache.solr.common.params.ShardParams;
import org.apache.solr.common.util.StrUtils;
import org.apache.solr.core.SolrCore;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.request.SolrQueryRequestBase;
import org.apache.solr.request.SolrRequestHandler;
import org.apache.solr.response.SolrQueryResponse;

/**
 * An in-process distributed real-time get ({@code /get?ids=...&distrib=true}) asked of every
 * shard of the request's collection, run as the user of the request that needs it.
 *
 * <p>Every shard is asked because a collection routed by a field ({@code router.field}, as our
 * product collections are) cannot tell an id's shard: a real-time get without {@code shards}
 * silently skips every id there. Macro expansion is off: ids are user input.
 */
final class ShardedGet {
  private ShardedGet() {}

  static List<SolrDocument> fetch(SolrQueryRequest req, Collection<String> ids, String fl, String what) {
    SolrCore core = req.getCore();
    SolrRequestHandler handler = core.getRequestHandler("/get");
    if (handler == null) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "id(s) " + ids + " are not on this shard and this core has no /get handler to fetch them");
    }
    ModifiableSolrParams params = new ModifiableSolrParams();
    // ids is split with backslash escapes: join escaped, or a backslash in an id is eaten
    params.set("ids", StrUtils.join(ids, ','));
    params.set(CommonParams.FL, fl);
    params.set(CommonParams.DISTRIB, true);
    params.set(ShardParams.SHARDS, String.join(",", shardNames(core)));
    params.set(CommonParams.WT, "javabin");
    params.set("expandMacros", false);
    SolrQueryResponse rsp = new SolrQueryResponse();
    try (SolrQueryRequestBase lookup =
        new SolrQueryRequestBase(core, params) {
          @Override
          public Principal getUserPrincipal() {
            return req.getUserPrincipal();
          }
        }) {
      handler.handleRequest(lookup, rsp);
    }
    if (rsp.getException() != null) {
      throw new SolrException(
          SolrException.ErrorCode.SERVER_ERROR,
          "fetching " + what + " from the other shards failed: " + rsp.getException().getMessage(),
          rsp.getException());
    }
    Object response = rsp.getValues().get("response");
    if (response instanceof SolrDocumentList list) {
      return list;
    }
    if (response instanceof SolrDocument doc) {
      return List.of(doc);
    }
    return List.of();
  }

  static boolean isCloud(SolrCore core) {
    return core.getCoreContainer().isZooKeeperAware()
        && core.getCoreDescriptor().getCloudDescriptor() != null;
  }

  private static Collection<String> shardNames(SolrCore core) {
    String collection = core.getCoreDescriptor().getCloudDescriptor().getCollectionName();
    DocCollection coll =
        core.getCoreContainer().getZkController().getClusterState().getCollection(collection);
    return coll.getSlicesMap().keySet();
  }
}
