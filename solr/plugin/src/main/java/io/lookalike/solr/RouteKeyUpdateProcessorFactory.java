package io.lookalike.solr;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.SolrInputField;
import org.apache.solr.common.util.NamedList;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.response.SolrQueryResponse;
import org.apache.solr.update.AddUpdateCommand;
import org.apache.solr.update.processor.UpdateRequestProcessor;
import org.apache.solr.update.processor.UpdateRequestProcessorFactory;

/**
 * Gives every product the key SolrCloud routes it by, so that a design's variants share a shard.
 *
 * <p>Product collections are created with {@code router.field=_route_key}: Solr hashes that field,
 * not the id, to choose a document's shard. This processor, placed before the distributed update
 * processor, sets {@code _route_key} to the product's {@code group} (the design its variants share)
 * or, for a product without one, to its id. So {@code {!collapse field=group}}, which collapses
 * within each shard, sees all of a design's variants together on any number of shards.
 *
 * <p>An atomic update (a partial document, some value a map such as {@code {"set": ...}}, e.g. a
 * price or stock change from another system) does not carry the whole product: its route is read
 * from the stored product (one in-process real-time get over every shard, {@link ShardedGet});
 * a partial update of a product that does not exist yet routes by its own group or id. A writer
 * that knows the key can name it and save the lookup (our merchandising writes do).
 *
 * <p>Lookups by id still work: delete-by-id is sent to every shard by Solr when a route field is
 * set, and our real-time gets name every shard ({@code shards=shard1,...}).
 *
 * <pre>{@code
 * <updateProcessor name="route-key" class="io.lookalike.solr.RouteKeyUpdateProcessorFactory">
 *   <str name="routeField">_route_key</str>   <!-- defaults shown -->
 *   <str name="fromField">group</str>
 * </updateProcessor>
 * }</pre>
 */
public class RouteKeyUpdateProcessorFactory extends UpdateRequestProcessorFactory {
  public static final String ROUTE_FIELD = "routeField";
  public static final String FROM_FIELD = "fromField";

  private String routeField = "_route_key";
  private String fromField = "group";

  @Override
  public void init(NamedList<?> args) {
    super.init(args);
    Object route = args.get(ROUTE_FIELD);
    Object from = args.get(FROM_FIELD);
    if (route != null) routeField = route.toString();
    if (from != null) fromField = from.toString();
  }

  String routeField() {
    return routeField;
  }

  String fromField() {
    return fromField;
  }

  @Override
  public UpdateRequestProcessor getInstance(
      SolrQueryRequest req, SolrQueryResponse rsp, UpdateRequestProcessor next) {
    String uniqueKey = req.getSchema().getUniqueKeyField().getName();
    return new UpdateRequestProcessor(next) {
      @Override
      public void processAdd(AddUpdateCommand cmd) throws IOException {
        SolrInputDocument doc = cmd.getSolrInputDocument();
        if (isAtomic(doc) && doc.getFieldValue(routeField) == null && ShardedGet.isCloud(req.getCore())) {
          Object id = doc.getFieldValue(uniqueKey);
          if (id != null) {
            List<SolrDocument> stored =
                ShardedGet.fetch(req, List.of(id.toString()), uniqueKey + "," + fromField, "product " + id);
            if (!stored.isEmpty()) {
              Object group = stored.get(0).getFirstValue(fromField);
              doc.setField(routeField, keyOf(group, id));
            }
          }
        }
        routeKey(doc, uniqueKey);
        super.processAdd(cmd);
      }
    };
  }

  /** Sets the route field of a whole document; checks that a partial one names it. */
  void routeKey(SolrInputDocument doc, String uniqueKey) {
    Object given = doc.getFieldValue(routeField);
    if (given instanceof Map<?, ?> op && op.containsKey("set") && op.get("set") != null) {
      // Solr's router hashes the field's value as it is: {"set": "g"} would hash "{set=g}"
      doc.setField(routeField, op.get("set").toString());
      return;
    }
    if (given != null && !(given instanceof Map)) {
      return;
    }
    Object id = doc.getFieldValue(uniqueKey);
    Object from = doc.getFieldValue(fromField);
    if (from instanceof Map<?, ?> op) { // a partial update that sets the group
      from = op.get("set");
    }
    String key = keyOf(from, id);
    if (key != null) {
      doc.setField(routeField, key);
    }
  }

  /** The route of a product: its group, or its id when it has none. */
  static String keyOf(Object group, Object id) {
    if (group != null && !group.toString().isEmpty()) {
      return group.toString();
    }
    return id == null ? null : id.toString();
  }

  static boolean isAtomic(SolrInputDocument doc) {
    for (SolrInputField field : doc) {
      if (field.getValue() instanceof Map) {
        return true;
      }
    }
    return false;
  }
}
