package io.lookalike.solr;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.PostingsEnum;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRefBuilder;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrException;
import org.apache.solr.request.SolrQueryRequest;
import org.apache.solr.schema.SchemaField;
import org.apache.solr.search.SolrIndexSearcher;

/**
 * Reads the stored vectors of documents named by id, for {@code like} and {@code unlike}.
 *
 * <p>First in this core's searcher: the id's term leads to the live document, whose vector is read
 * from the field's {@link FloatVectorValues} (the indexed vector, so the field needs not be
 * stored). In SolrCloud a document may live on another shard: ids not found locally are fetched
 * with one in-process distributed real-time get asked of every shard ({@link ShardedGet}), which
 * reads the field's stored value. So on several shards {@code like}
 * works when the vector field is {@code stored="true"}; the lookup then also sees documents that
 * are not yet committed on those shards, where the local one only sees committed documents.
 */
final class StoredVectors {
  /**
   * What was found: vectors by id, the group field's value by id (when one was asked for and the
   * document has it), ids whose document has no vector, ids with no document.
   */
  record Lookup(
      Map<String, float[]> vectors,
      Map<String, String> groups,
      Set<String> withoutVector,
      Set<String> missing) {}

  private StoredVectors() {}

  static Lookup fetch(
      SolrQueryRequest req, SchemaField vectorField, Collection<String> ids, SchemaField groupField)
      throws IOException {
    SchemaField uniqueKey = req.getSchema().getUniqueKeyField();
    if (uniqueKey == null) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "like/unlike need a uniqueKey in the schema to find documents by id");
    }
    String group = groupField == null ? null : groupField.getName();
    Lookup local = fetchLocal(req.getSearcher(), uniqueKey, vectorField.getName(), ids, group);
    if (local.missing().isEmpty() || !ShardedGet.isCloud(req.getCore())) {
      return local;
    }
    if (!vectorField.stored()) {
      throw new SolrException(
          SolrException.ErrorCode.BAD_REQUEST,
          "id(s) "
              + local.missing()
              + " are not on this shard, and field '"
              + vectorField.getName()
              + "' is not stored, so their vectors cannot be fetched from the other shards:"
              + " make the field stored=\"true\" or pass the vector inline with vector=[...]");
    }
    Lookup remote = fetchRemote(req, uniqueKey, vectorField.getName(), local.missing(), group);
    Map<String, float[]> vectors = new LinkedHashMap<>(local.vectors());
    vectors.putAll(remote.vectors());
    Map<String, String> groups = new LinkedHashMap<>(local.groups());
    groups.putAll(remote.groups());
    Set<String> withoutVector = new LinkedHashSet<>(local.withoutVector());
    withoutVector.addAll(remote.withoutVector());
    return new Lookup(vectors, groups, withoutVector, remote.missing());
  }

  /** Looks ids up in one searcher's live documents. */
  static Lookup fetchLocal(
      SolrIndexSearcher searcher,
      SchemaField uniqueKey,
      String vectorField,
      Collection<String> ids,
      String groupField)
      throws IOException {
    Map<String, float[]> vectors = new LinkedHashMap<>();
    Map<String, String> groups = new LinkedHashMap<>();
    Set<String> withoutVector = new LinkedHashSet<>();
    Set<String> missing = new LinkedHashSet<>();
    BytesRefBuilder term = new BytesRefBuilder();
    for (String id : ids) {
      uniqueKey.getType().readableToIndexed(id, term);
      float[] vector = null;
      boolean found = false;
      for (LeafReaderContext leaf : searcher.getTopReaderContext().leaves()) {
        int doc = liveDoc(leaf.reader(), uniqueKey.getName(), term);
        if (doc == DocIdSetIterator.NO_MORE_DOCS) {
          continue;
        }
        found = true;
        vector = vectorOf(leaf.reader(), vectorField, doc);
        if (groupField != null) {
          String group = leaf.reader().storedFields().document(doc, Set.of(groupField)).get(groupField);
          if (group != null) {
            groups.put(id, group);
          }
        }
        break;
      }
      if (!found) {
        missing.add(id);
      } else if (vector == null) {
        withoutVector.add(id);
      } else {
        vectors.put(id, vector);
      }
    }
    return new Lookup(vectors, groups, withoutVector, missing);
  }

  private static int liveDoc(LeafReader reader, String keyField, BytesRefBuilder term)
      throws IOException {
    Terms terms = reader.terms(keyField);
    if (terms == null) {
      return DocIdSetIterator.NO_MORE_DOCS;
    }
    TermsEnum te = terms.iterator();
    if (!te.seekExact(term.get())) {
      return DocIdSetIterator.NO_MORE_DOCS;
    }
    Bits live = reader.getLiveDocs();
    PostingsEnum postings = te.postings(null, PostingsEnum.NONE);
    for (int doc = postings.nextDoc();
        doc != DocIdSetIterator.NO_MORE_DOCS;
        doc = postings.nextDoc()) {
      if (live == null || live.get(doc)) {
        return doc;
      }
    }
    return DocIdSetIterator.NO_MORE_DOCS;
  }

  private static float[] vectorOf(LeafReader reader, String field, int doc) throws IOException {
    FloatVectorValues values = reader.getFloatVectorValues(field);
    if (values == null || values.advance(doc) != doc) {
      return null;
    }
    return values.vectorValue().clone(); // the reader reuses its buffer
  }

  /** One distributed real-time get for the ids, asked of every shard of the collection. */
  private static Lookup fetchRemote(
      SolrQueryRequest req, SchemaField uniqueKey, String vectorField, Set<String> ids, String groupField) {
    String fl = uniqueKey.getName() + "," + vectorField + (groupField == null ? "" : "," + groupField);
    List<SolrDocument> found = ShardedGet.fetch(req, ids, fl, "the vectors of " + ids);
    Map<String, float[]> vectors = new LinkedHashMap<>();
    Map<String, String> groups = new LinkedHashMap<>();
    Set<String> withoutVector = new LinkedHashSet<>();
    Set<String> missing = new LinkedHashSet<>(ids);
    for (SolrDocument doc : found) {
      String id = String.valueOf(doc.getFirstValue(uniqueKey.getName()));
      if (!missing.remove(id)) {
        continue;
      }
      Object group = groupField == null ? null : doc.getFirstValue(groupField);
      if (group != null) {
        groups.put(id, String.valueOf(group));
      }
      float[] vector = toFloats(doc.getFieldValues(vectorField));
      if (vector == null) {
        withoutVector.add(id);
      } else {
        vectors.put(id, vector);
      }
    }
    return new Lookup(vectors, groups, withoutVector, missing);
  }

  private static float[] toFloats(Collection<Object> values) {
    if (values == null || values.isEmpty()) {
      return null;
    }
    List<Float> out = new ArrayList<>(values.size());
    for (Object value : values) {
      if (value instanceof float[] array) {
        for (float x : array) {
          out.add(x);
        }
      } else if (value instanceof Collection<?> nested) {
        for (Object x : nested) {
          out.add(((Number) x).floatValue());
        }
      } else {
        out.add(((Number) value).floatValue());
      }
    }
    float[] vector = new float[out.size()];
    for (int i = 0; i < vector.length; i++) {
      vector[i] = out.get(i);
    }
    return vector;
  }
}
