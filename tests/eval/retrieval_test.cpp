// Retrieval metrics (recall@k, MRR, tie rule) and the TF-IDF baseline, against hand values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "contra/eval/retrieval.h"
#include "../support/expect_error.h"

using namespace contra::eval;
using contra::test_support::expect_error;

TEST(Retrieval, MetricsFromRanks) {
  auto m = metrics_from_ranks({1, 2, 10, 11}, 20);
  EXPECT_DOUBLE_EQ(m.recall_at_1, 0.25);
  EXPECT_DOUBLE_EQ(m.recall_at_10, 0.75);
  EXPECT_DOUBLE_EQ(m.mrr, (1 + 0.5 + 0.1 + 1.0 / 11) / 4);
  EXPECT_EQ(m.queries, 4);
  EXPECT_EQ(m.documents, 20);
}

TEST(Retrieval, CosineRanksAndTiesCountAgainst) {
  // Documents on the unit circle; query 0 is closest to doc 0, query 1 to doc 2 (target doc 1).
  auto docs = torch::tensor({{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.2}});
  auto queries = torch::tensor({{2.0, 0.1}, {-1.0, 0.3}});
  auto m = retrieval_metrics(queries, docs, torch::tensor({0, 1}, torch::kLong), 1);
  EXPECT_DOUBLE_EQ(m.recall_at_1, 0.5);
  EXPECT_DOUBLE_EQ(m.mrr, (1.0 + 0.5) / 2);
  // A constant embedding ties every document: rank D, never 1.
  auto flat = retrieval_metrics(torch::ones({2, 3}), torch::ones({4, 3}), torch::tensor({0, 3}, torch::kLong));
  EXPECT_DOUBLE_EQ(flat.recall_at_1, 0.0);
  EXPECT_DOUBLE_EQ(flat.mrr, 0.25);
  expect_error([&] { retrieval_metrics(queries, docs, torch::tensor({0, 3}, torch::kLong)); },
               "retrieval targets must be in [0, 3)");
}

TEST(TfIdf, WeightsAndScoresByHand) {
  TfIdf t({"The cat sat.", "the dog ran", "a dog, a cat"});
  EXPECT_EQ(t.vocabulary(), 6);  // the cat sat dog ran a
  EXPECT_EQ(TfIdf::words("Caf\xC3\xA9 au-lait, 42!"), (std::vector<std::string>{"caf\xC3\xA9", "au", "lait", "42"}));
  // idf = ln(4 / (1 + df)) + 1: the, cat, dog appear in 2 of 3 documents; sat, ran once; a once.
  const double i2 = std::log(4.0 / 3.0) + 1, i1 = std::log(2.0) + 1;
  // Document 0 = the + cat + sat; query "cat" -> cosine = i2 / |(i2, i2, i1)|.
  auto s = t.scores("CAT");
  EXPECT_NEAR(s[0], i2 / std::sqrt(2 * i2 * i2 + i1 * i1), 1e-6);
  EXPECT_FLOAT_EQ(s[1], 0.0f);
  // Document 2 = 2 x a + dog + cat: tf counts.
  EXPECT_NEAR(s[2], i2 / std::sqrt(4 * i1 * i1 + 2 * i2 * i2), 1e-6);
  EXPECT_TRUE(t.vector("unknown words only").empty());

  auto m = tfidf_retrieval({"a cat", "dog ran", "zebra"}, {"The cat sat.", "the dog ran", "a dog, a cat"}, {2, 1, 0});
  EXPECT_DOUBLE_EQ(m.recall_at_1, 2.0 / 3);  // "zebra" ties every document at 0: rank 3
  EXPECT_DOUBLE_EQ(m.mrr, (1 + 1 + 1.0 / 3) / 3);
}

TEST(ClassRetrieval, RecallAndMapAtRByHand) {
  // Cosine ranks (worked out by hand): query 0 -> 1+, 2, 3+; query 1 -> 0+, 2, 3+;
  // query 2 -> 0, 1, 3+; query 3 -> 1, 0, 2+. Item 4 is alone in its class: not a query.
  auto f = torch::tensor({{1.0, 0.0}, {1.0, 0.2}, {1.0, -0.5}, {0.0, 1.0}, {-1.0, 0.0}});
  auto y = torch::tensor({0, 0, 1, 1, 2}, torch::kLong);
  for (int64_t chunk : {1, 2, 512}) {
    auto m = class_retrieval(f, y, chunk);
    EXPECT_EQ(m.queries, 4);
    EXPECT_DOUBLE_EQ(m.recall_at_1, 0.5);
    EXPECT_DOUBLE_EQ(m.recall_at_5, 1.0);
    EXPECT_DOUBLE_EQ(m.recall_at_10, 1.0);
    EXPECT_DOUBLE_EQ(m.map_at_r, 0.5);  // R = 1: AP is 1 for queries 0 and 1, 0 for 2 and 3
  }
}

TEST(ClassRetrieval, MapAtRCountsOnlyTheFirstRRanks) {
  // Query 0 ranks 1+ (0.995), 3 (0.958), 2+ (0.894): R = 2, AP = (1/1 + 0) / 2 = 0.5.
  // Queries 1 and 2 find both others of class 0 first: AP 1. Item 3 is alone in class 1.
  auto f = torch::tensor({{1.0, 0.0}, {1.0, 0.1}, {1.0, 0.5}, {1.0, -0.3}});
  auto m = class_retrieval(f, torch::tensor({0, 0, 0, 1}, torch::kLong));
  EXPECT_EQ(m.queries, 3);
  EXPECT_DOUBLE_EQ(m.recall_at_1, 1.0);
  EXPECT_NEAR(m.map_at_r, (0.5 + 1 + 1) / 3, 1e-12);
}

TEST(ClassRetrieval, TiesCountAgainstTheQuery) {
  auto m = class_retrieval(torch::ones({4, 3}), torch::tensor({0, 0, 1, 1}, torch::kLong));
  EXPECT_DOUBLE_EQ(m.recall_at_1, 0.0);  // both of the other class rank first
  EXPECT_DOUBLE_EQ(m.recall_at_5, 1.0);
  EXPECT_DOUBLE_EQ(m.map_at_r, 0.0);
  expect_error([] { class_retrieval(torch::ones({2, 3}), torch::tensor({0, -1}, torch::kLong)); },
               "needs a label (>= 0) for every item");
}
