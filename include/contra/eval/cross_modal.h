#pragma once
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::eval {

/// Retrieval in one direction from 1-based ranks: recall@k = share of queries ranked <= k;
/// median (the mean of the two middle ranks for an even count) and mean rank.
struct DirectionMetrics {
  double recall_at_1 = 0, recall_at_5 = 0, recall_at_10 = 0;
  double median_rank = 0, mean_rank = 0;
  int64_t queries = 0;
};
DirectionMetrics direction_metrics(const std::vector<int64_t>& ranks);

/// Image-text retrieval in both directions over one split (Radford et al. 2021's protocol):
/// image->text (every image queries all captions) and text->image (every caption queries all
/// images).
struct CrossModalMetrics {
  DirectionMetrics image_to_text, text_to_image;
  int64_t images = 0, captions = 0;
};

/// Cosine similarity between images [N, d] and captions [T, d], caption_image [T] int64 in
/// [0, N) naming each caption's image (every image has at least one). Ranks are 1-based and ties
/// count against the query (as in retrieval.h):
///   image->text: an image's rank is that of the best-ranked of its own captions, i.e. 1 + the
///     number of other images' captions scoring at least as high as its best caption;
///   text->image: every caption is a query, its one image the target: 1 + the number of other
///     images scoring at least as high.
/// Processes `chunk` queries at a time (memory O(chunk x max(N, T))).
CrossModalMetrics cross_modal_retrieval(const at::Tensor& images, const at::Tensor& captions,
                                        const at::Tensor& caption_image, int64_t chunk = 1024);

}  // namespace contra::eval
