#include "contra/models/text_transformer.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "contra/core/error.h"
#include "contra/core/names.h"

namespace contra::models {
namespace {

const NameTable<TextPooling, 2> kPoolingNames = {{"mean", TextPooling::kMean},
                                                 {"first", TextPooling::kFirst}};

void check_transformer_options(const TextTransformerOptions& o) {
  CONTRA_CHECK(o.vocab_size() >= 1, "text_model: vocabulary size must be >= 1, got ", o.vocab_size());
  CONTRA_CHECK(o.width() >= 1, "text_model.width must be >= 1, got ", o.width());
  CONTRA_CHECK(o.layers() >= 1, "text_model.layers must be >= 1, got ", o.layers());
  CONTRA_CHECK(o.heads() >= 1 && o.width() % o.heads() == 0, "text_model.heads (", o.heads(),
               ") must divide text_model.width (", o.width(), ")");
  CONTRA_CHECK(o.ffn() >= 1, "text_model.ffn must be >= 1, got ", o.ffn());
  CONTRA_CHECK(o.max_len() >= 1, "text.max_len must be >= 1, got ", o.max_len());
  CONTRA_CHECK(o.dropout() >= 0 && o.dropout() < 1, "text_model.dropout must be in [0, 1), got ",
               o.dropout());
}

/// BERT's initialisation: weights N(0, 0.02), biases 0, LayerNorm identity.
void init_linear(torch::nn::Linear& l) {
  torch::NoGradGuard no_grad;
  l->weight.normal_(0.0, 0.02);
  if (l->bias.defined()) l->bias.zero_();
}

}  // namespace

TextPooling text_pooling_from_string(const std::string& name) {
  return from_name(kPoolingNames, name, "text pooling");
}

std::vector<std::string> text_pooling_names() { return names_of(kPoolingNames); }
std::string to_string(TextPooling pooling) { return name_of(kPoolingNames, pooling); }

TransformerBlockImpl::TransformerBlockImpl(const TextTransformerOptions& options_)
    : options(options_) {
  reset();
}

void TransformerBlockImpl::reset() {
  check_transformer_options(options);
  const int64_t w = options.width();
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w})));
  qkv = register_module("qkv", torch::nn::Linear(w, 3 * w));
  proj = register_module("proj", torch::nn::Linear(w, w));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({w})));
  fc1 = register_module("fc1", torch::nn::Linear(w, options.ffn()));
  fc2 = register_module("fc2", torch::nn::Linear(options.ffn(), w));
  for (auto* l : {&qkv, &proj, &fc1, &fc2}) init_linear(*l);
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  namespace F = torch::nn::functional;
  const int64_t b = x.size(0), len = x.size(1), w = options.width(), h = options.heads();
  const int64_t dh = w / h;
  const double p = is_training() ? options.dropout() : 0.0;

  // Attention: [B, L, 3W] -> three [B, H, L, dh].
  auto parts = qkv->forward(norm1->forward(x)).view({b, len, 3, h, dh}).permute({2, 0, 3, 1, 4});
  auto q = parts[0], k = parts[1], v = parts[2];
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(dh)));
  // Padded keys get -inf, so exactly zero weight; every row has a real key, so no NaN.
  scores = scores.masked_fill(mask.logical_not().view({b, 1, 1, len}),
                              -std::numeric_limits<float>::infinity());
  auto weights = F::dropout(torch::softmax(scores, -1), F::DropoutFuncOptions().p(p).training(p > 0));
  auto attended = torch::matmul(weights, v).transpose(1, 2).reshape({b, len, w});
  auto y = x + F::dropout(proj->forward(attended), F::DropoutFuncOptions().p(p).training(p > 0));

  auto ff = fc2->forward(torch::gelu(fc1->forward(norm2->forward(y))));
  return y + F::dropout(ff, F::DropoutFuncOptions().p(p).training(p > 0));
}

void TransformerBlockImpl::pretty_print(std::ostream& stream) const {
  stream << "contra::models::TransformerBlock(width=" << options.width()
         << ", heads=" << options.heads() << ", ffn=" << options.ffn()
         << ", dropout=" << options.dropout() << ")";
}

TextTransformerImpl::TextTransformerImpl(TextTransformerOptions options_) : options(options_) {
  reset();
}

void TextTransformerImpl::reset() {
  check_transformer_options(options);
  token = register_module("token", torch::nn::Embedding(options.vocab_size(), options.width()));
  position = register_module("position", torch::nn::Embedding(options.max_len(), options.width()));
  {
    // Token embeddings at unit scale (the original Transformer's effective scale: N(0, 1/d)
    // times sqrt(d)); blocks start small (BERT's 0.02), so at initialisation a sentence vector is
    // close to a random projection of its bag of pieces rather than a vector common to all
    // sentences, and training starts from distinguishable sentences.
    torch::NoGradGuard no_grad;
    token->weight.normal_(0.0, 1.0);
    position->weight.normal_(0.0, 0.02);
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers(); ++i) blocks->push_back(TransformerBlock(options));
  final_norm = register_module(
      "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.width()})));
}

torch::Tensor TextTransformerImpl::token_states(const torch::Tensor& ids, const torch::Tensor& mask) {
  CONTRA_CHECK(ids.dim() == 2 && mask.sizes() == ids.sizes() && mask.scalar_type() == torch::kBool,
               "text encoder needs ids [B, L] and a bool mask [B, L], got ", ids.sizes(), " and ",
               mask.sizes());
  const int64_t len = ids.size(1);
  CONTRA_CHECK(len >= 1 && len <= options.max_len(), "text encoder: sequence length ", len,
               " exceeds text.max_len (", options.max_len(), ")");
  CONTRA_CHECK(mask.any(1).all().item<bool>(), "text encoder: every sequence needs a real token");
  namespace F = torch::nn::functional;
  const double p = is_training() ? options.dropout() : 0.0;
  auto positions = torch::arange(len, ids.options());
  auto x = token->forward(ids) + position->forward(positions).unsqueeze(0);
  x = F::dropout(x, F::DropoutFuncOptions().p(p).training(p > 0));
  for (const auto& block : *blocks) x = block->as<TransformerBlockImpl>()->forward(x, mask);
  return x;
}

torch::Tensor TextTransformerImpl::forward(const torch::Tensor& ids, const torch::Tensor& mask) {
  auto h = token_states(ids, mask);
  torch::Tensor pooled;
  if (options.pooling() == TextPooling::kFirst) {
    pooled = h.select(1, 0);
  } else {
    auto m = mask.unsqueeze(-1).to(h.scalar_type());  // [B, L, 1]
    pooled = (h * m).sum(1) / m.sum(1);
  }
  // The final LayerNorm after pooling: normalising each token first would give every token the
  // same norm, so mean pooling could not weigh informative pieces above frequent ones.
  return final_norm->forward(pooled);
}

void TextTransformerImpl::pretty_print(std::ostream& stream) const {
  stream << "contra::models::TextTransformer(vocab=" << options.vocab_size()
         << ", width=" << options.width() << ", layers=" << options.layers()
         << ", heads=" << options.heads() << ", ffn=" << options.ffn()
         << ", max_len=" << options.max_len() << ", pooling=" << to_string(options.pooling())
         << ")";
}

}  // namespace contra::models
