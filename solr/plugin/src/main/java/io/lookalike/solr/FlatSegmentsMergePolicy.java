package io.lookalike.solr;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.index.FilterMergePolicy;
import org.apache.lucene.index.MergePolicy;
import org.apache.lucene.index.SegmentCommitInfo;
import org.apache.lucene.index.SegmentInfos;
import org.apache.solr.core.SolrResourceLoader;
import org.apache.solr.index.MergePolicyFactoryArgs;
import org.apache.solr.index.WrapperMergePolicyFactory;
import org.apache.solr.schema.IndexSchema;

/**
 * A merge policy (Solr's tiered one unless configured otherwise) whose forced merges also rewrite
 * every segment written without HNSW graphs ({@link FlatVectorsFormat}, the flushed segments of a
 * bulk load): a force-merge to N segments of an index that already has N or fewer would leave
 * them as they are, and their vectors without a graph. Each such segment the wrapped policy does
 * not merge is merged alone, which writes it in the field's real format, graph included. Every
 * other decision is the wrapped policy's.
 */
final class FlatSegmentsMergePolicy extends FilterMergePolicy {
  FlatSegmentsMergePolicy(MergePolicy in) {
    super(in);
  }

  /** Whether {@code info} was written with flat vectors (no HNSW graph). */
  static boolean isFlat(SegmentCommitInfo info) {
    return FlatVectorsFormat.SEGMENT_MARK_VALUE.equals(
        info.info.getAttribute(FlatVectorsFormat.SEGMENT_MARK));
  }

  @Override
  public MergeSpecification findForcedMerges(
      SegmentInfos infos,
      int maxSegmentCount,
      Map<SegmentCommitInfo, Boolean> segmentsToMerge,
      MergeContext context)
      throws IOException {
    MergeSpecification spec = super.findForcedMerges(infos, maxSegmentCount, segmentsToMerge, context);
    Set<SegmentCommitInfo> merging = new HashSet<>(context.getMergingSegments());
    if (spec != null) {
      for (OneMerge merge : spec.merges) {
        merging.addAll(merge.segments);
      }
    }
    for (SegmentCommitInfo info : infos) {
      if (isFlat(info) && segmentsToMerge.containsKey(info) && !merging.contains(info)) {
        if (spec == null) {
          spec = new MergeSpecification();
        }
        spec.add(new OneMerge(List.of(info)));
      }
    }
    return spec;
  }

  /** {@code <mergePolicyFactory class="io.lookalike.solr.FlatSegmentsMergePolicy$Factory"/>}. */
  public static final class Factory extends WrapperMergePolicyFactory {
    public Factory(SolrResourceLoader loader, MergePolicyFactoryArgs args, IndexSchema schema) {
      super(loader, args, schema);
    }

    @Override
    protected MergePolicy getMergePolicyInstance(MergePolicy wrapped) {
      return new FlatSegmentsMergePolicy(wrapped);
    }
  }
}
