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

}  // namespace

void print_eval(const run::EvalResult& r) {
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
