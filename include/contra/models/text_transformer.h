#pragma once
#include <string>
#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace contra::models {

/// How token states become one sentence vector.
enum class TextPooling {
  kMean,   ///< mean over the real (unmasked) tokens
  kFirst,  ///< the first token's state (the <s> token the tokenizer prepends; BERT's [CLS])
};
TextPooling text_pooling_from_string(const std::string& name);  ///< "mean" | "first"
/// The valid names, in order (for the config schema and messages).
std::vector<std::string> text_pooling_names();
std::string to_string(TextPooling pooling);

/// A Transformer encoder, "Attention Is All You Need" (Vaswani et al., 2017), in the pre-LN
/// arrangement of "On Layer Normalization in the Transformer Architecture" (Xiong et al., 2020).
struct TextTransformerOptions {
  explicit TextTransformerOptions(int64_t vocab_size) : vocab_size_(vocab_size) {}
  /// Token ids are in [0, vocab_size) (required).
  TORCH_ARG(int64_t, vocab_size);
  /// Model width: token, position and hidden states (default 128).
  TORCH_ARG(int64_t, width) = 128;
  /// Transformer blocks (default 2).
  TORCH_ARG(int64_t, layers) = 2;
  /// Attention heads; must divide width (default 4).
  TORCH_ARG(int64_t, heads) = 4;
  /// Hidden size of each block's feed-forward network (default 512).
  TORCH_ARG(int64_t, ffn) = 512;
  /// Longest sequence, in tokens: the number of learned positions (default 64).
  TORCH_ARG(int64_t, max_len) = 64;
  /// Dropout on embeddings, attention weights and residual branches; in training mode it is the
  /// noise that makes SimCSE's two views (default 0.1).
  TORCH_ARG(double, dropout) = 0.1;
  /// Sentence pooling (default mean over the mask).
  TORCH_ARG(TextPooling, pooling) = TextPooling::kMean;
};

/// One pre-LN block: x + Drop(Attn(LN(x))), then x + Drop(FFN(LN(x))), FFN = Linear-GELU-Linear.
/// Plain scaled dot-product attention (LibTorch 1.13 has no fused kernel) where padded keys get
/// zero weight. x: [B, L, width]; mask: [B, L] bool, true on real tokens.
class TransformerBlockImpl : public torch::nn::Cloneable<TransformerBlockImpl> {
 public:
  explicit TransformerBlockImpl(const TextTransformerOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);
  void pretty_print(std::ostream& stream) const override;

  TextTransformerOptions options;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(TransformerBlock);

/// Token + learned position embeddings, `layers` pre-LN blocks, pooling, then the final
/// LayerNorm (on the pooled vector, so tokens keep their own norms and weigh differently in the
/// mean). ids: [B, L] int64 (L <= max_len); mask: [B, L] bool with at least one true per row
/// -> [B, width].
class TextTransformerImpl : public torch::nn::Cloneable<TextTransformerImpl> {
 public:
  explicit TextTransformerImpl(TextTransformerOptions options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask);
  /// Per-token states after the last block (before pooling and the final LayerNorm):
  /// [B, L, width].
  torch::Tensor token_states(const torch::Tensor& ids, const torch::Tensor& mask);
  int64_t output_dim() const { return options.width(); }
  void pretty_print(std::ostream& stream) const override;

  TextTransformerOptions options;
  torch::nn::Embedding token{nullptr}, position{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};
};
TORCH_MODULE(TextTransformer);

}  // namespace contra::models
