#include "contra/run/summary.h"

#include <cmath>

namespace contra::run {
namespace {

nlohmann::json retrieval_json(const eval::RetrievalMetrics& m) {
  return {{"recall_at_1", m.recall_at_1}, {"recall_at_10", m.recall_at_10}, {"mrr", m.mrr}};
}

/// Image runs: retrieval by class among the evaluation images.
void add_class_retrieval(nlohmann::json& j, const eval::ClassRetrievalMetrics& m) {
  j["retrieval_recall_at_1"] = m.recall_at_1;
  j["retrieval_recall_at_5"] = m.recall_at_5;
  j["retrieval_recall_at_10"] = m.recall_at_10;
  j["retrieval_map_at_r"] = m.map_at_r;
}

nlohmann::json or_null(double v) { return v >= 0 ? nlohmann::json(v) : nlohmann::json(); }

/// Geometry (alignment, uniformity, effective_rank, feature_std) and few-shot accuracy of one
/// set of features; not measured: left out, and a value not measured: null.
void add_representation(nlohmann::json& j, const RepresentationMetrics& m) {
  if (!m.measured) return;
  const auto& g = m.geometry;
  j["alignment"] = std::isfinite(g.alignment) ? nlohmann::json(g.alignment) : nlohmann::json();
  j["uniformity"] = g.uniformity;
  j["effective_rank"] = g.effective_rank;
  j["feature_std"] = g.feature_std;
  j["feature_std_reference"] = g.feature_std_reference;
  j["fewshot_5way_1shot"] = or_null(m.fewshot_1shot);
  j["fewshot_5way_1shot_ci95"] = or_null(m.fewshot_1shot_ci95);
  j["fewshot_5way_5shot"] = or_null(m.fewshot_5shot);
  j["fewshot_5way_5shot_ci95"] = or_null(m.fewshot_5shot_ci95);
}

/// Image-text runs: the shared space's metrics (zero-shot where measured, then retrieval in both
/// directions), under the summary.json names every consumer reads.
void add_image_text(nlohmann::json& j, const eval::CrossModalMetrics& c, const eval::ZeroShotMetrics& z,
                    bool zero_shot) {
  if (zero_shot) {
    j["zero_shot_top1"] = z.top1;
    j["zero_shot_top5"] = z.top5;
    j["zero_shot_classes"] = z.classes;
  }
  const std::pair<const char*, const eval::DirectionMetrics*> directions[] = {{"i2t", &c.image_to_text},
                                                                             {"t2i", &c.text_to_image}};
  for (const auto& [name, m] : directions) {
    const std::string p = name;
    j[p + "_recall_at_1"] = m->recall_at_1;
    j[p + "_recall_at_5"] = m->recall_at_5;
    j[p + "_recall_at_10"] = m->recall_at_10;
    j[p + "_median_rank"] = m->median_rank;
    j[p + "_mean_rank"] = m->mean_rank;
  }
}

}  // namespace

nlohmann::json metrics_line(const train::StepRecord& r, const methods::Method& method,
                            const dist::Group* group) {
  nlohmann::json line = {{"step", r.stats.step},
                         {"epoch", r.stats.epoch},
                         {"loss", r.stats.loss},
                         {"lr", r.stats.lr},
                         {"pairs_per_s", r.stats.pairs_per_s},
                         {"data_wait", r.stats.data_wait},
                         {"pos_sim", r.diagnostics.positive_sim},
                         {"neg_sim", r.diagnostics.negative_sim},
                         {"top1", r.diagnostics.top1},
                         {"active", r.diagnostics.active},
                         {"skipped_steps", r.skipped_steps}};
  for (const auto& [name, value] : method.step_metrics()) line[name] = value;
  if (group) line["comm_s"] = group->comm_seconds();
  return line;
}

nlohmann::json eval_json(const EvalResult& e) {
  nlohmann::json j;
  if (e.image_text) {
    add_image_text(j, e.cross_modal_trained, e.zero_shot_trained, e.zero_shot);
    j["eval_images"] = e.cross_modal_trained.images;
    j["eval_captions"] = e.cross_modal_trained.captions;
    if (e.zero_shot) j["zero_shot_class_names"] = e.zero_shot_class_names;
    if (e.image_probe) {
      j["knn_acc"] = e.knn_acc;
      j["linear_acc"] = or_null(e.linear_acc);
      j["linear_l2"] = e.linear_l2;
      j["linear_val_acc"] = or_null(e.linear_val_acc);
      j["embed_s"] = e.embed_s;
      j["probe_train_images"] = e.probe_train_images;
      j["probe_eval_images"] = e.probe_eval_images;
    }
    if (e.untrained_measured) {
      j["untrained"] = nlohmann::json::object();
      add_image_text(j["untrained"], e.cross_modal_untrained, e.zero_shot_untrained, e.zero_shot);
      if (e.image_probe) j["untrained"]["knn_acc"] = e.untrained_knn_acc;
    }
  } else if (e.retrieval) {
    j = retrieval_json(e.trained);
    j["queries"] = e.trained.queries;
    j["documents"] = e.trained.documents;
    j["tfidf"] = retrieval_json(e.tfidf);
    j["untrained"] = retrieval_json(e.untrained);
    add_representation(j, e.rep_trained);
    add_representation(j["untrained"], e.rep_untrained);
  } else {
    j["knn_acc"] = e.knn_acc;
    j["knn_k"] = e.knn_k;
    j["knn_temperature"] = e.knn_temperature;
    j["knn_similarity"] = "cosine";
    j["linear_acc"] = or_null(e.linear_acc);
    j["linear_l2"] = e.linear_l2;
    j["linear_val_acc"] = or_null(e.linear_val_acc);
    j["embed_s"] = e.embed_s;
    if (e.class_retrieval) {
      add_class_retrieval(j, e.retrieval_trained);
      j["retrieval_queries"] = e.retrieval_trained.queries;
    }
    add_representation(j, e.rep_trained);
    if (e.untrained_knn_acc >= 0) {
      j["untrained"] = {{"knn_acc", e.untrained_knn_acc}};
      j["raw_pixels"] = {{"knn_acc", e.pixels_knn_acc}};
      if (e.class_retrieval) {
        add_class_retrieval(j["untrained"], e.retrieval_untrained);
        add_class_retrieval(j["raw_pixels"], e.retrieval_pixels);
      }
      add_representation(j["untrained"], e.rep_untrained);
      add_representation(j["raw_pixels"], e.rep_pixels);
    }
  }
  if (e.rep_trained.measured) j["geometry_s"] = e.geometry_s;
  j["eval_split"] = e.split;
  j["eval_features"] = e.features;
  j["eval_s"] = e.eval_s;
  return j;
}

nlohmann::json summary_json(const SummaryInputs& in) {
  const auto& t = in.result.train;
  nlohmann::json s = in.result.eval.done ? eval_json(in.result.eval) : nlohmann::json::object();
  s["method"] = in.run.config.method;
  s["steps"] = t.steps;
  s["wall_s"] = t.wall_s;
  s["pairs_per_s"] = t.pairs_per_s;
  s["final_loss"] = t.final_loss;  // NaN (no updating step) is written as null
  s["skipped_steps"] = t.skipped_steps;
  s["data_wait_fraction"] = t.data_wait_fraction;
  if (in.result.time_budget) s["time_budget"] = to_json(*in.result.time_budget);
  if (in.result.autotune) s["autotune"] = to_json(*in.result.autotune);
  s["threads"] = in.threads;
  s["device"] = in.run.config.device;
  int64_t parameters = 0;
  for (const auto& p : in.method.trainable_parameters()) parameters += p.numel();
  s["parameters"] = parameters;  // trained ones (what the gradient all-reduce moves)
  s.update(in.task.describe());
  s["total_s"] = in.total_s;
  if (in.group) {
    s["world_size"] = in.run.world_size;
    s["comm_s"] = in.group->comm_seconds();
    s["comm_fraction"] = t.wall_s > 0 ? in.group->comm_seconds() / t.wall_s : 0.0;
  }
  return s;
}

}  // namespace contra::run
