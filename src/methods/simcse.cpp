#include "contra/methods/simcse.h"

#include <algorithm>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"
#include "contra/losses/info_nce.h"
#include "contra/losses/nt_xent.h"
#include "contra/methods/objective.h"

namespace contra::methods {
namespace {
const NameTable<SimCSELoss, 2> kLossNames = {{"info_nce", SimCSELoss::kInfoNCE},
                                             {"nt_xent", SimCSELoss::kNTXent}};
}  // namespace

SimCSELoss simcse_loss_from_string(const std::string& name) {
  return from_name(kLossNames, name, "SimCSE loss");
}

std::vector<std::string> simcse_loss_names() { return names_of(kLossNames); }

SimCSEImpl::SimCSEImpl(SimCSEOptions options_) : options(std::move(options_)) {
  encoder = register_module("encoder", models::TextTransformer(options.encoder()));
  head = register_module(
      "head", models::ProjectionHead(
                  models::ProjectionHeadOptions(encoder->output_dim(), options.head_dim())
                      .hidden_dim(options.head_hidden())
                      .layers(options.head_layers())));
}

std::vector<torch::Tensor> SimCSEImpl::embed_together(
    const std::vector<const data::TokenBatch*>& batches) {
  // One pass over all rows: larger matrix products, and each row still gets its own dropout.
  int64_t len = 0;
  std::vector<int64_t> sizes;
  for (const auto* b : batches) len = std::max(len, b->ids.size(1)), sizes.push_back(b->size());
  std::vector<torch::Tensor> ids, masks;
  for (const auto* b : batches) {
    const int64_t pad = len - b->ids.size(1);
    // Pad id 0 is always a valid index; the mask hides it.
    ids.push_back(torch::constant_pad_nd(b->ids, {0, pad}, 0));
    masks.push_back(torch::constant_pad_nd(b->mask, {0, pad}, 0));
  }
  auto z = head->forward(encoder->forward(torch::cat(ids, 0), torch::cat(masks, 0)));
  return z.split_with_sizes(sizes, 0);
}

losses::ContrastiveOutput SimCSEImpl::forward(const data::TokenBatch& view1,
                                              const data::TokenBatch& view2) {
  CONTRA_CHECK(view1.size() == view2.size() && view1.size() >= 2,
               "SimCSE needs two views of the same B >= 2 texts, got ", view1.size(), " and ",
               view2.size());
  return forward_supervised(view1, view2);
}

losses::ContrastiveOutput SimCSEImpl::forward_supervised(const data::TokenBatch& anchor,
                                                         const data::TokenBatch& positive,
                                                         const data::TokenBatch& negative) {
  const bool hard = negative.size() > 0;
  CONTRA_CHECK(anchor.size() == positive.size() && anchor.size() >= 2 &&
                   (!hard || negative.size() == anchor.size()),
               "SimCSE needs B >= 2 anchors with one positive (and one hard negative, if any) "
               "each, got ", anchor.size(), ", ", positive.size(), ", ", negative.size());
  CONTRA_CHECK(!hard || options.loss() == SimCSELoss::kInfoNCE,
               "hard negatives need loss info_nce, not nt_xent");
  std::vector<const data::TokenBatch*> parts = {&anchor, &positive};
  if (hard) parts.push_back(&negative);
  auto z = embed_together(parts);
  // Several processes: this rank's anchors [begin, end) against every rank's positives. One
  // process: the whole batch (the gathers are the identity).
  auto& c = collective();
  const int64_t n = anchor.size(), begin = c.rank() * n, end = begin + n;
  auto anchors = c.all_gather_with_grad(z[0]), positives = c.all_gather_with_grad(z[1]);
  if (options.loss() == SimCSELoss::kNTXent) {
    return mean_over_ranks(
        losses::functional::nt_xent_rows(
            anchors, positives, begin, end,
            losses::NTXentOptions().temperature(options.temperature()).similarity(options.similarity())),
        c);
  }
  auto o = losses::InfoNCEOptions()
               .temperature(options.temperature())
               .similarity(options.similarity())
               .in_batch(true)
               .anchor_begin(begin)
               .anchor_end(end);
  // A hard negative belongs to its own anchor only: this rank's rows.
  return mean_over_ranks(losses::functional::info_nce(anchors, positives, o, {},
                                                      hard ? z[2].unsqueeze(1) : torch::Tensor()),
                         c);
}

losses::ContrastiveOutput SimCSEImpl::forward(const data::Batch& batch) {
  return forward_supervised(batch.text1, batch.text2, batch.text_negative);
}

torch::Tensor SimCSEImpl::features(const data::Batch& inputs) { return features(inputs.text1); }

torch::Tensor SimCSEImpl::features(const data::TokenBatch& batch) {
  return encoder->forward(batch.ids, batch.mask);
}

torch::Tensor SimCSEImpl::embed(const data::TokenBatch& batch) {
  return head->forward(encoder->forward(batch.ids, batch.mask));
}

}  // namespace contra::methods
