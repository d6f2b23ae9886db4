// Zero-shot classification (prompt averaging, top-1/top-5 with ties against the image) and
// image<->text retrieval with several captions per image, on hand-worked embeddings.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "../support/expect_error.h"
#include "contra/eval/cross_modal.h"
#include "contra/eval/zero_shot.h"

using namespace contra::eval;
using contra::test_support::expect_error;

TEST(ZeroShot, FillsThePromptTemplate) {
  EXPECT_EQ(fill_prompt("a photo of a {}.", "sneaker"), "a photo of a sneaker.");
  EXPECT_EQ(fill_prompt("{}", "Ankle boot"), "Ankle boot");
  expect_error([] { fill_prompt("a photo", "x"); }, "prompt template 'a photo' must hold \"{}\" once");
  expect_error([] { fill_prompt("{} and {}", "x"); }, "must hold \"{}\" once");
}

TEST(ZeroShot, ClassWeightsAreTheNormalisedMeanOfNormalisedTemplates) {
  // Class 0's templates (2, 0) and (0, 3) normalise to (1, 0) and (0, 1): mean (1/2, 1/2),
  // normalised (1/sqrt 2, 1/sqrt 2) (the raw mean (1, 1.5) would point elsewhere). Class 1's
  // (1, 0) and (5, 0): (1, 0).
  auto templates = torch::tensor({{{2.0, 0.0}, {0.0, 3.0}}, {{1.0, 0.0}, {5.0, 0.0}}});
  auto w = zero_shot_classifier(templates);
  const double r = 1 / std::sqrt(2.0);
  EXPECT_TRUE(torch::allclose(w, torch::tensor({{r, r}, {1.0, 0.0}}).to(torch::kFloat), 1e-6, 1e-6)) << w;
  expect_error([] { zero_shot_classifier(torch::zeros({2, 3})); }, "zero-shot classifier needs template embeddings [K, P, d]");
}

TEST(ZeroShot, ClassNameAlternativesFillEveryTemplate) {
  EXPECT_EQ(class_name_alternatives("shoe"), (std::vector<std::string>{"shoe"}));
  EXPECT_EQ(class_name_alternatives(" animals | animal |pet"), (std::vector<std::string>{"animals", "animal", "pet"}));
  EXPECT_EQ(class_prompts("cat | dog", {"a {}.", "{}"}), (std::vector<std::string>{"a cat.", "cat", "a dog.", "dog"}));
  expect_error([] { class_name_alternatives("cat || dog"); }, "class name 'cat || dog' has an empty alternative");
  expect_error([] { class_name_alternatives("cat |"); }, "has an empty alternative");
}

TEST(ZeroShot, ClassesWithDifferentPromptCountsAverageTheirOwnRows) {
  // Class 0: three prompts (2, 0), (0, 3), (0, 1) -> units (1, 0), (0, 1), (0, 1): mean (1/3, 2/3),
  // normalised (1, 2)/sqrt 5. Class 1: one prompt (0, -4) -> (0, -1).
  auto rows = torch::tensor({{2.0, 0.0}, {0.0, 3.0}, {0.0, 1.0}, {0.0, -4.0}});
  auto w = zero_shot_classifier(rows, {3, 1});
  const double s5 = std::sqrt(5.0);
  EXPECT_TRUE(torch::allclose(w, torch::tensor({{1 / s5, 2 / s5}, {0.0, -1.0}}).to(torch::kFloat), 1e-6, 1e-6)) << w;
  // Equal counts: the [K, P, d] form's answer.
  auto templates = torch::tensor({{{2.0, 0.0}, {0.0, 3.0}}, {{1.0, 0.0}, {5.0, 0.0}}});
  EXPECT_TRUE(torch::allclose(zero_shot_classifier(templates.view({4, 2}), {2, 2}), zero_shot_classifier(templates)));
  expect_error([&] { zero_shot_classifier(rows, {2, 1}); }, "zero-shot classifier needs prompt embeddings [3, d] for 2 classes");
  expect_error([&] { zero_shot_classifier(rows, {4, 0}); }, "every class needs at least one prompt");
}

TEST(ZeroShot, TopOneAndTopFiveAccuracy) {
  const double r = 1 / std::sqrt(2.0);
  auto w = torch::tensor({{r, r}, {1.0, 0.0}}).to(torch::kFloat);
  // (0, 1), class 0: scores (0.71, 0) -> right. (1, 0.1), class 1: (0.77, 0.995) -> right.
  // (1, 1), class 1: (1, 0.71) -> wrong. (1, 0), class 0: (0.71, 1) -> wrong. Two classes: every
  // image is within the top 5.
  auto images = torch::tensor({{0.0, 1.0}, {1.0, 0.1}, {1.0, 1.0}, {1.0, 0.0}}).to(torch::kFloat);
  auto m = zero_shot_accuracy(images, w, torch::tensor({0, 1, 1, 0}, torch::kLong));
  EXPECT_DOUBLE_EQ(m.top1, 0.5);
  EXPECT_DOUBLE_EQ(m.top5, 1.0);
  EXPECT_EQ(m.images, 4);
  EXPECT_EQ(m.classes, 2);
  // Six classes, one image scoring them 6, 5, 4, 3, 2, 1: class 4 has 4 ahead (top 5), class 5
  // has 5 ahead (not).
  auto eye = torch::eye(6);
  auto image = torch::tensor({{6.0, 5.0, 4.0, 3.0, 2.0, 1.0}}).to(torch::kFloat);
  EXPECT_DOUBLE_EQ(zero_shot_accuracy(image, eye, torch::tensor({4}, torch::kLong)).top5, 1.0);
  EXPECT_DOUBLE_EQ(zero_shot_accuracy(image, eye, torch::tensor({5}, torch::kLong)).top5, 0.0);
  EXPECT_DOUBLE_EQ(zero_shot_accuracy(image, eye, torch::tensor({0}, torch::kLong)).top1, 1.0);
  // A tie counts against the image: two identical class weights, neither is first.
  auto twins = torch::tensor({{1.0, 0.0}, {1.0, 0.0}}).to(torch::kFloat);
  EXPECT_DOUBLE_EQ(zero_shot_accuracy(torch::tensor({{1.0, 0.0}}).to(torch::kFloat), twins,
                                      torch::tensor({0}, torch::kLong)).top1, 0.0);
  expect_error([&] { zero_shot_accuracy(images, w, torch::tensor({0, 1, 2, 0}, torch::kLong)); },
               "zero-shot labels must be in [0, 2)");
}

TEST(CrossModal, SeveralCaptionsPerImage) {
  // Images I0 = (1, 0), I1 = (0, 1), I2 = (-1, 0). Captions: c0 = (1, 0) and c1 = (0, 1) of I0,
  // c2 = (1, 1) of I1, c3 = (-1, 0) and c4 = (0, -1) of I2.
  auto images = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.0}}).to(torch::kFloat);
  auto captions = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}, {-1.0, 0.0}, {0.0, -1.0}}).to(torch::kFloat);
  auto owner = torch::tensor({0, 0, 1, 2, 2}, torch::kLong);
  for (int64_t chunk : {1, 2, 1024}) {
    auto m = cross_modal_retrieval(images, captions, owner, chunk);
    EXPECT_EQ(m.images, 3);
    EXPECT_EQ(m.captions, 5);
    // Image->text, the best of its own captions: I0 by c0 (1, nothing above): 1. I1 by c2
    // (0.71; c1 of I0 scores 1): 2. I2 by c3 (1): 1. Ranks 1, 2, 1.
    const auto& i2t = m.image_to_text;
    EXPECT_EQ(i2t.queries, 3);
    EXPECT_DOUBLE_EQ(i2t.recall_at_1, 2.0 / 3);
    EXPECT_DOUBLE_EQ(i2t.recall_at_5, 1.0);
    EXPECT_DOUBLE_EQ(i2t.median_rank, 1.0);
    EXPECT_DOUBLE_EQ(i2t.mean_rank, 4.0 / 3);
    // Text->image, each caption its image: c0 -> I0 first: 1. c1 -> I0 scores 0, I1 1 and I2 0
    // (a tie, against the query): 3. c2 -> I1 ties I0 at 0.71: 2. c3 -> I2: 1. c4 -> I2 ties
    // I0 at 0: 2. Ranks 1, 3, 2, 1, 2.
    const auto& t2i = m.text_to_image;
    EXPECT_EQ(t2i.queries, 5);
    EXPECT_DOUBLE_EQ(t2i.recall_at_1, 0.4);
    EXPECT_DOUBLE_EQ(t2i.recall_at_5, 1.0);
    EXPECT_DOUBLE_EQ(t2i.recall_at_10, 1.0);
    EXPECT_DOUBLE_EQ(t2i.median_rank, 2.0);
    EXPECT_DOUBLE_EQ(t2i.mean_rank, 1.8);
  }
  expect_error([&] { cross_modal_retrieval(images, captions, torch::tensor({0, 0, 0, 2, 2}, torch::kLong)); },
               "every image needs at least one caption");
  expect_error([&] { cross_modal_retrieval(images, captions, torch::tensor({0, 0, 1, 2}, torch::kLong)); },
               "cross-modal retrieval needs one image per caption");
}

TEST(CrossModal, RankStatistics) {
  auto m = direction_metrics({1, 2, 3, 10});
  EXPECT_DOUBLE_EQ(m.recall_at_1, 0.25);
  EXPECT_DOUBLE_EQ(m.recall_at_5, 0.75);
  EXPECT_DOUBLE_EQ(m.recall_at_10, 1.0);
  EXPECT_DOUBLE_EQ(m.median_rank, 2.5);  // an even count: the mean of the two middle ranks
  EXPECT_DOUBLE_EQ(m.mean_rank, 4.0);
  EXPECT_DOUBLE_EQ(direction_metrics({7, 1, 4}).median_rank, 4.0);
}
