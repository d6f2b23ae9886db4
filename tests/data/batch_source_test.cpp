// The one loader contract (data::BatchSource), held by every loader (images, text, image-text
// pairs): seek(g) continues the stream exactly at batch g, and W ranks' slices of a global batch
// are one process's batch.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <set>

#include "contra/augment/pipeline.h"
#include "contra/augment/text.h"
#include "contra/core/rng.h"
#include "contra/data/image_text_loader.h"
#include "contra/data/loader.h"
#include "contra/data/text_loader.h"
#include "contra/data/tokenizer.h"
#include "data_test_util.h"

using namespace contra;
using namespace contra::data;

namespace {

ImageDataset images(int64_t n) {
  ImageDataset ds;
  ds.images = at::randint(0, 256, {n, 1, 8, 8}, at::TensorOptions(at::kByte));
  ds.labels = at::arange(n, at::kLong);
  return ds;
}

std::vector<std::string> texts(int64_t n) {
  const std::vector<std::string> words = {"the", "dog", "cat", "barked", "sat", "on", "a", "mat",
                                          "at", "night", "small", "bird", "sings", "green", "tree"};
  std::vector<std::string> out;
  Rng rng(3);
  for (int64_t i = 0; i < n; ++i) {
    std::string s;
    for (int k = 0, len = 4 + int(rng.below(6)); k < len; ++k) s += (k ? " " : "") + words[rng.below(words.size())];
    out.push_back(s);
  }
  return out;
}

const Tokenizer& tokenizer() {
  static datatest::TempDir dir;
  static const Tokenizer tok = [] {
    auto p = dir.file("tok.model");
    train_tokenizer(texts(400), p, TokenizerTrainOptions(40).threads(1));
    return Tokenizer::load(p);
  }();
  return tok;
}

std::unique_ptr<BatchSource> text_loader(int64_t rank, int64_t world) {
  augment::TextAugmenter views(augment::TextAugmentOptions().ops({augment::TextOp::kDelete}).delete_p(0.3));
  return std::make_unique<TextLoader>(texts(100), tokenizer(), views,
                                      TextLoaderOptions(8).seed(5).rank(rank).world_size(world));
}

std::unique_ptr<BatchSource> image_loader(int64_t rank, int64_t world) {
  static const ImageDataset ds = images(60);
  return std::make_unique<TwoViewLoader>(ds, augment::Pipeline(augment::PipelineOptions()),
                                         LoaderOptions(8).seed(5).rank(rank).world_size(world));
}

/// 60 images with 1 to 3 captions each (image i's captions name i), labels i % 3.
const ImageTextDataset& image_text_pairs() {
  static const ImageTextDataset d = [] {
    ImageTextDataset out;
    out.images = at::randint(0, 256, {60, 3, 8, 8}, at::TensorOptions(at::kByte));
    out.labels = at::arange(60, at::kLong) % 3;
    out.class_names = {"a", "b", "c"};
    const auto words = texts(180);
    for (int64_t i = 0; i < 60; ++i) {
      out.captions.emplace_back();
      for (int64_t k = 0; k <= i % 3; ++k) out.captions.back().push_back(words[size_t(3 * i + k)]);
      out.ids.push_back(std::to_string(i));
    }
    return out;
  }();
  return d;
}

std::unique_ptr<BatchSource> image_text_loader(int64_t rank, int64_t world) {
  return std::make_unique<ImageTextLoader>(image_text_pairs(), augment::Pipeline(augment::PipelineOptions().mean({0.5}).std({0.25})),
                                           tokenizer(), ImageTextLoaderOptions(8).seed(5).rank(rank).world_size(world));
}

/// The same with each caption's words deleted with probability 0.4 and one adjacent swap.
augment::TextAugmenter caption_views() {
  return augment::TextAugmenter(
      augment::TextAugmentOptions().ops({augment::TextOp::kDelete, augment::TextOp::kSwap}).delete_p(0.4));
}
std::unique_ptr<BatchSource> augmented_image_text_loader(int64_t rank, int64_t world) {
  return std::make_unique<ImageTextLoader>(image_text_pairs(), augment::Pipeline(augment::PipelineOptions()),
                                           tokenizer(), ImageTextLoaderOptions(8).seed(5).rank(rank).world_size(world),
                                           caption_views());
}

/// Row i of a token batch without its padding.
at::Tensor token_row(const TokenBatch& t, int64_t i) { return t.ids[i].masked_select(t.mask[i]); }

void expect_same_rows(const Batch& a, int64_t a_first, const Batch& b, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    EXPECT_EQ(a.index[a_first + i].item<int64_t>(), b.index[i].item<int64_t>()) << i;
    if (a.view1.defined()) {
      EXPECT_TRUE(at::equal(a.view1[a_first + i], b.view1[i])) << i;
    }
    if (a.view2.defined()) {
      EXPECT_TRUE(at::equal(a.view2[a_first + i], b.view2[i])) << i;
    }
    if (a.text1.size() > 0) {
      EXPECT_TRUE(at::equal(token_row(a.text1, a_first + i), token_row(b.text1, i))) << i;
    }
    if (a.text2.size() > 0) {
      EXPECT_TRUE(at::equal(token_row(a.text2, a_first + i), token_row(b.text2, i))) << i;
    }
  }
}

using Make = std::unique_ptr<BatchSource> (*)(int64_t, int64_t);

void seek_continues_the_stream(Make make) {
  auto whole = make(0, 1), sought = make(0, 1);
  std::vector<Batch> stream;
  for (int i = 0; i < 2 * whole->batches_per_epoch() + 3; ++i) stream.push_back(whole->next());
  for (int64_t g : {int64_t(5), int64_t(0), 2 * whole->batches_per_epoch() + 1}) {
    sought->seek(g);
    const Batch b = sought->next();
    EXPECT_EQ(b.epoch, stream[size_t(g)].epoch) << g;
    EXPECT_EQ(b.batch, stream[size_t(g)].batch) << g;
    expect_same_rows(stream[size_t(g)], 0, b, b.size());
  }
}

void ranks_make_the_whole_batch(Make make) {
  auto whole = make(0, 1), r0 = make(0, 2), r1 = make(1, 2);
  for (int k = 0; k < 5; ++k) {
    const Batch a = whole->next(), b0 = r0->next(), b1 = r1->next();
    ASSERT_EQ(b0.size(), 4);
    ASSERT_EQ(b1.size(), 4);
    expect_same_rows(a, 0, b0, 4);
    expect_same_rows(a, 4, b1, 4);
  }
}

}  // namespace

TEST(BatchSource, SeekContinuesTheStream_Images) { seek_continues_the_stream(image_loader); }
TEST(BatchSource, SeekContinuesTheStream_Text) { seek_continues_the_stream(text_loader); }
TEST(BatchSource, RanksMakeTheWholeBatch_Images) { ranks_make_the_whole_batch(image_loader); }
TEST(BatchSource, RanksMakeTheWholeBatch_Text) { ranks_make_the_whole_batch(text_loader); }

TEST(BatchSource, TextBatchMustSplitOverTheRanks) {
  augment::TextAugmenter views{augment::TextAugmentOptions()};
  EXPECT_THROW(TextLoader(texts(100), tokenizer(), views, TextLoaderOptions(9).rank(0).world_size(2)),
               Error);
}

TEST(BatchSource, SeekContinuesTheStream_ImageText) { seek_continues_the_stream(image_text_loader); }
TEST(BatchSource, RanksMakeTheWholeBatch_ImageText) { ranks_make_the_whole_batch(image_text_loader); }

TEST(BatchSource, SeekContinuesTheStream_ImageTextAugmentedCaptions) {
  seek_continues_the_stream(augmented_image_text_loader);
}
TEST(BatchSource, RanksMakeTheWholeBatch_ImageTextAugmentedCaptions) {
  ranks_make_the_whole_batch(augmented_image_text_loader);
}

// text.augment on clip captions: row j of batch (e, g) holds the augmenter's view of one of its
// image's captions, drawn with derive_seed(seed, e, g, 3) for row j; the views differ from the
// captions; the images and the caption draws are those of the loader without augmentation.
TEST(BatchSource, ImageTextCaptionsAreAugmentedPerRow) {
  const auto& d = image_text_pairs();
  auto plain = std::make_unique<ImageTextLoader>(image_text_pairs(), augment::Pipeline(augment::PipelineOptions()),
                                                 tokenizer(), ImageTextLoaderOptions(8).seed(5));
  auto augmented = augmented_image_text_loader(0, 1);
  const auto views = caption_views();
  int64_t changed = 0, rows = 0;
  for (int k = 0; k < 10; ++k) {
    const Batch a = plain->next(), b = augmented->next();
    ASSERT_TRUE(at::equal(a.index, b.index));
    ASSERT_TRUE(at::equal(a.view1, b.view1));
    const uint64_t seed = derive_seed(5, uint64_t(b.epoch), uint64_t(b.batch), 3);
    for (int64_t j = 0; j < 8; ++j, ++rows) {
      const int64_t i = b.index[j].item<int64_t>();
      bool own_view = false, own_caption = false;
      for (const auto& c : d.captions[size_t(i)]) {
        own_view |= at::equal(token_row(tokenizer().encode_batch({views.apply_row(c, seed, j)}, 32), 0),
                              token_row(b.text1, j));
        own_caption |= at::equal(token_row(tokenizer().encode_batch({c}, 32), 0), token_row(a.text1, j));
      }
      EXPECT_TRUE(own_view) << "batch " << k << " row " << j;
      EXPECT_TRUE(own_caption) << "batch " << k << " row " << j;
      changed += !at::equal(token_row(a.text1, j), token_row(b.text1, j));
    }
  }
  EXPECT_GT(changed, rows / 2);
}

TEST(BatchSource, ImageTextRowsPairAViewWithOneOfItsCaptions) {
  const auto& d = image_text_pairs();
  auto loader = image_text_loader(0, 1);
  EXPECT_EQ(loader->batches_per_epoch(), 7);  // 60 images, batches of 8, the rest dropped
  std::set<std::pair<int64_t, std::vector<int64_t>>> drawn;  // (image, caption tokens) seen
  for (int k = 0; k < 40; ++k) {
    const Batch b = loader->next();
    ASSERT_EQ(b.view1.sizes(), (std::vector<int64_t>{8, 3, 8, 8}));
    ASSERT_FALSE(b.view2.defined());
    ASSERT_EQ(b.text1.size(), 8);
    for (int64_t j = 0; j < 8; ++j) {
      const int64_t i = b.index[j].item<int64_t>();
      EXPECT_EQ(b.label[j].item<int64_t>(), i % 3);
      const auto row = token_row(b.text1, j);
      bool own = false;
      for (const auto& c : d.captions[size_t(i)]) {
        const auto t = tokenizer().encode_batch({c}, 32);
        own |= at::equal(token_row(t, 0), row);
      }
      EXPECT_TRUE(own) << "image " << i << " got another image's caption";
      drawn.insert({i, std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel())});
    }
  }
  // Images with three captions show more than one of them over the epochs.
  int64_t varied = 0;
  for (int64_t i = 2; i < 60; i += 3) {
    int64_t kinds = 0;
    for (const auto& [img, tokens] : drawn) kinds += img == i;
    varied += kinds > 1;
  }
  EXPECT_GE(varied, 15);
}
