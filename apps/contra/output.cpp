// Output shared by subcommands.
#include <cmath>
#include <cstdio>

#include "commands.h"
#include "contra/run/experiment.h"

namespace contra::app {

namespace {

void print_retrieval(const run::EvalResult& r) {
  auto line = [](const char* name, const eval::RetrievalMetrics& m) {
    std::printf("%-10s recall_at_1 %.4f  recall_at_10 %.4f  mrr %.4f\n", name, m.recall_at_1,
                m.recall_at_10, m.mrr);
  };
  std::printf("gloss retrieval, %s split: %lld example sentences, %lld glosses\n",
              r.split.c_str(), (long long)r.trained.queries, (long long)r.trained.documents);
  line("trained", r.trained);
  line("tf-idf", r.tfidf);
  line("untrained", r.untrained);
}

/// Geometry and few-shot accuracy of one set of features, on one line each.
void print_representation(const char* name, const run::RepresentationMetrics& m) {
  if (!m.measured) return;
  const auto& g = m.geometry;
  std::printf("%-10s ", name);
  if (std::isfinite(g.alignment)) std::printf("alignment %.4f  ", g.alignment);
  std::printf("uniformity %.4f  effective_rank %.1f  feature_std %.4f (1/sqrt(d) %.4f)\n", g.uniformity,
              g.effective_rank, g.feature_std, g.feature_std_reference);
  if (m.fewshot_1shot < 0 && m.fewshot_5shot < 0) return;
  std::printf("%-10s 5-way few-shot:", "");
  if (m.fewshot_1shot >= 0) std::printf("  1-shot %.4f +- %.4f", m.fewshot_1shot, m.fewshot_1shot_ci95);
  if (m.fewshot_5shot >= 0) std::printf("  5-shot %.4f +- %.4f", m.fewshot_5shot, m.fewshot_5shot_ci95);
  std::printf("\n");
}

void print_representations(const run::EvalResult& r) {
  if (!r.rep_trained.measured) return;
  std::printf("representation (%.1f s of the evaluation):\n", r.geometry_s);
  print_representation("trained", r.rep_trained);
  print_representation("untrained", r.rep_untrained);
  print_representation("raw pixels", r.rep_pixels);
}

/// Image-text runs: zero-shot and retrieval in both directions, trained and untrained.
void print_image_text(const run::EvalResult& r) {
  std::printf("image-text evaluation, %s split: %lld images, %lld captions (eval %.1f s)\n", r.split.c_str(),
              (long long)r.cross_modal_trained.images, (long long)r.cross_modal_trained.captions, r.eval_s);
  auto line = [&](const char* name, const eval::CrossModalMetrics& c, const eval::ZeroShotMetrics& z) {
    std::printf("%-10s", name);
    if (r.zero_shot) std::printf(" zero-shot top1 %.4f top5 %.4f (%lld classes) ", z.top1, z.top5, (long long)z.classes);
    std::printf("\n%-10s i2t R@1 %.4f R@5 %.4f R@10 %.4f median rank %.1f   t2i R@1 %.4f R@5 %.4f R@10 %.4f median rank %.1f\n",
                "", c.image_to_text.recall_at_1, c.image_to_text.recall_at_5, c.image_to_text.recall_at_10,
                c.image_to_text.median_rank, c.text_to_image.recall_at_1, c.text_to_image.recall_at_5,
                c.text_to_image.recall_at_10, c.text_to_image.median_rank);
  };
  line("trained", r.cross_modal_trained, r.zero_shot_trained);
  if (r.untrained_measured) line("untrained", r.cross_modal_untrained, r.zero_shot_untrained);
  if (r.image_probe) {
    std::printf("image tower: knn_acc %.4f", r.knn_acc);
    if (r.linear_acc >= 0) std::printf("  linear_acc %.4f", r.linear_acc);
    if (r.untrained_knn_acc >= 0) std::printf("  (untrained knn_acc %.4f)", r.untrained_knn_acc);
    std::printf("\n");
  }
}

}  // namespace

void print_eval(const run::EvalResult& r) {
  if (r.image_text) {
    print_image_text(r);
    return;
  }
  if (r.retrieval) {
    print_retrieval(r);
    print_representations(r);
    return;
  }
  std::printf("knn_acc %.4f", r.knn_acc);
  if (r.linear_acc >= 0) std::printf("  linear_acc %.4f", r.linear_acc);
  std::printf("  (%s split, eval %.1f s)\n", r.split.c_str(), r.eval_s);
  auto retrieval = [](const eval::ClassRetrievalMetrics& m) {
    std::printf("retrieval recall@1 %.4f  recall@5 %.4f  recall@10 %.4f  mAP@R %.4f", m.recall_at_1,
                m.recall_at_5, m.recall_at_10, m.map_at_r);
  };
  if (r.class_retrieval) {
    retrieval(r.retrieval_trained);
    std::printf("  (%lld queries against the rest of the split, by class)\n",
                (long long)r.retrieval_trained.queries);
  }
  if (r.untrained_knn_acc >= 0) {
    std::printf("baselines: untrained encoder knn_acc %.4f  raw pixels knn_acc %.4f\n",
                r.untrained_knn_acc, r.pixels_knn_acc);
    if (r.class_retrieval) {
      std::printf("  untrained ");
      retrieval(r.retrieval_untrained);
      std::printf("\n  raw pixels ");
      retrieval(r.retrieval_pixels);
      std::printf("\n");
    }
  }
  print_representations(r);
}

}  // namespace contra::app
