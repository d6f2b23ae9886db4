#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace contra::eval {

/// A prompt template with its class name in place of "{}" ("a photo of a {}." + "sneaker" ->
/// "a photo of a sneaker."). Throws contra::Error for a template without "{}" or with several.
std::string fill_prompt(const std::string& prompt_template, const std::string& class_name);

/// A class name's alternatives: "animals | animal | pet" -> {"animals", "animal", "pet"} (split at
/// '|', trimmed); a name without '|' is its only alternative. Throws contra::Error when one is empty.
std::vector<std::string> class_name_alternatives(const std::string& name);

/// Every prompt of one class: each template filled with each of the name's alternatives
/// (alternative-major: all templates of the first alternative, then the second's, ...).
std::vector<std::string> class_prompts(const std::string& name, const std::vector<std::string>& templates);

/// Zero-shot classifier weights from the text embeddings of every class's prompts:
/// template_embeddings [K, P, d] (class k's P filled templates) -> [K, d], each class's
/// L2-normalised template embeddings averaged, and the mean normalised again (CLIP's prompt
/// ensembling, Radford et al. 2021, section 3.1.4).
at::Tensor zero_shot_classifier(const at::Tensor& template_embeddings);

/// The same for classes with different numbers of prompts (names with alternatives):
/// prompt_embeddings [sum(counts), d], class k's counts[k] rows after those of the classes before
/// it -> [K, d], each class's normalised rows averaged and the mean normalised again.
at::Tensor zero_shot_classifier(const at::Tensor& prompt_embeddings, const std::vector<int64_t>& counts);

struct ZeroShotMetrics {
  /// Share of images whose class is the first / among the first five by cosine similarity to
  /// the class weights (with fewer than 5 classes every image counts for top5).
  double top1 = 0, top5 = 0;
  int64_t images = 0, classes = 0;
};

/// image_embeddings [N, d] against classifier [K, d] (zero_shot_classifier's), labels [N] int64
/// in [0, K). Cosine similarity; ties count against the image: its class is within the top k
/// when fewer than k other classes score at least as high.
ZeroShotMetrics zero_shot_accuracy(const at::Tensor& image_embeddings, const at::Tensor& classifier,
                                   const at::Tensor& labels);

}  // namespace contra::eval
