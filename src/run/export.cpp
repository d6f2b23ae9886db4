// Trained image encoders out to stock PyTorch/torchvision (contra export) and back in
// (model.init_from): the name mapping, the export with its metadata, the loading.
#include "contra/run/export.h"

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "contra/config/load.h"
#include "contra/core/error.h"
#include "contra/core/files.h"
#include "contra/methods/registry.h"
#include "contra/models/convnet.h"
#include "contra/models/momentum.h"
#include "contra/models/resnet.h"
#include "contra/run/checkpoints.h"
#include "contra/run/engine.h"
#include "contra/run/run_dir.h"

namespace contra::run {
namespace {

/// Blocks per stage of torchvision's resnet18/34/50 (and contra's).
std::vector<int64_t> export_stage_blocks(int64_t depth) {
  if (depth == 18) return {2, 2, 2, 2};
  return {3, 4, 6, 3};
}

std::vector<std::string> export_split_name(const std::string& name) {
  std::vector<std::string> parts;
  std::stringstream in(name);
  for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
  return parts;
}

/// torchvision's name for the state name `name` of a contra ResNet of `depth`.
std::string torchvision_resnet_name(const std::string& name, int64_t depth) {
  const auto p = export_split_name(name);
  auto rest = [&](size_t from) {
    std::string s;
    for (size_t k = from; k < p.size(); ++k) s += "." + p[k];
    return s;
  };
  if (p.size() >= 3 && p[0] == "stem" && (p[1] == "0" || p[1] == "1"))
    return (p[1] == "0" ? "conv1" : "bn1") + rest(2);
  if (p.size() >= 5 && p[0] == "stages") {
    int64_t block = std::stoll(p[1]), stage = 0;
    for (int64_t n : export_stage_blocks(depth)) {
      if (block < n) break;
      block -= n;
      ++stage;
    }
    const std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
    if (p[2] == "shortcut") return prefix + "downsample." + p[3] + rest(4);
    static const std::map<std::string, std::string> body = {{"0", "conv1"}, {"1", "bn1"}, {"3", "conv2"},
                                                            {"4", "bn2"},   {"6", "conv3"}, {"7", "bn3"}};
    auto it = body.find(p[3]);
    if (p[2] == "body" && it != body.end()) return prefix + it->second + rest(4);
  }
  TORCH_INTERNAL_ASSERT(false, "no torchvision name for ResNet state '", name, "'");
  return name;
}

/// State names of `module` in PyTorch's state_dict order (each module's parameters, then its
/// buffers, then its children's).
std::vector<std::string> export_state_names(const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& item : module.named_modules()) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) names.push_back(prefix + p.key());
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) names.push_back(prefix + b.key());
  }
  return names;
}

/// Parameters and buffers of `module` by name.
std::map<std::string, at::Tensor> export_state_tensors(const torch::nn::Module& module) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : module.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) out[b.key()] = b.value();
  return out;
}

std::string describe_encoder(const torch::nn::Module& encoder) {
  std::ostringstream s;
  encoder.pretty_print(s);
  return s.str();
}

/// The image encoder (submodule `encoder`) of `method`; `what` names the feature for the error.
std::shared_ptr<torch::nn::Module> image_encoder_of(methods::Method& method, const std::string& what) {
  const auto children = method.named_children();
  const auto* found = children.find("encoder");
  CONTRA_CHECK(found && (std::dynamic_pointer_cast<models::ResNetImpl>(*found) ||
                         std::dynamic_pointer_cast<models::ConvNetImpl>(*found)),
               what, " supports image encoders (convnet, resnet18/34/50) only");
  return *found;
}

nlohmann::json per_channel(const std::vector<double>& values, int64_t channels) {
  auto out = nlohmann::json::array();
  for (int64_t c = 0; c < channels; ++c) out.push_back(values[values.size() == 1 ? 0 : size_t(c)]);
  return out;
}

/// FILE.json's content for the encoder exported from `cfg`'s run.
nlohmann::json export_metadata(const torch::nn::Module& encoder, const config::RunConfig& cfg,
                               const std::string& run_dir, int64_t step, const std::string& weights) {
  nlohmann::json j;
  j["format"] = "pytorch";
  j["weights"] = std::filesystem::path(weights).filename().string();
  j["method"] = cfg.method;
  j["encoder"] = cfg.model.encoder;
  int64_t channels = 0, dim = 0;
  if (const auto* r = dynamic_cast<const models::ResNetImpl*>(&encoder)) {
    const auto& o = r->options;
    channels = o.in_channels();
    dim = r->output_dim();
    j["torchvision_model"] = "resnet" + std::to_string(o.depth());
    j["small_stem"] = o.small_stem();
    j["base_width"] = o.base_width();
    j["absent_torchvision_keys"] = {"fc.weight", "fc.bias"};
    auto changes = nlohmann::json::array({"model.fc = torch.nn.Identity()"});
    if (o.small_stem()) {
      changes.push_back(c10::str("model.conv1 = torch.nn.Conv2d(", channels, ", 64, 3, 1, 1, bias=False)"));
      changes.push_back("model.maxpool = torch.nn.Identity()");
    } else if (channels != 3) {
      changes.push_back(c10::str("model.conv1 = torch.nn.Conv2d(", channels, ", 64, 7, 2, 3, bias=False)"));
    }
    j["torchvision_changes"] = changes;
  } else {
    const auto& c = dynamic_cast<const models::ConvNetImpl&>(encoder);
    channels = c.options.in_channels();
    dim = c.output_dim();
    j["widths"] = c.options.widths();
    j["pool_after"] = c.options.pool_after();
    j["pool_grid"] = c.options.pool_grid();
    j["python_module"] = "docs/EXPORT.md: ContraConvNet";
  }
  j["in_channels"] = channels;
  j["feature_dim"] = dim;
  j["image_size"] = cfg.data.dataset == "fashion_mnist" ? 28 : cfg.data.image_size;
  j["preprocessing"] = {
      {"layout", "[N, C, H, W] float32"},
      {"scale", "x = pixel / 255 (uint8 pixels to [0, 1])"},
      {"normalize", "(x - mean[c]) / std[c] for each channel c"},
      {"mean", per_channel(cfg.augment.mean, channels)},
      {"std", per_channel(cfg.augment.std, channels)},
      {"mode", "eval (batch norm uses its running statistics)"}};
  j["run"] = std::filesystem::absolute(run_dir).lexically_normal().string();
  j["step"] = step;
  return j;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> pytorch_names(const torch::nn::Module& encoder) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto* resnet = dynamic_cast<const models::ResNetImpl*>(&encoder);
  CONTRA_CHECK(resnet || dynamic_cast<const models::ConvNetImpl*>(&encoder),
               "PyTorch names exist for image encoders (convnet, resnet18/34/50) only");
  if (resnet) {
    CONTRA_CHECK(resnet->options.base_width() == 64, "model.base_width=", resnet->options.base_width(),
                 " has no torchvision counterpart: torchvision's ResNets have base width 64");
  }
  for (const auto& name : export_state_names(encoder))
    out.emplace_back(name, resnet ? torchvision_resnet_name(name, resnet->options.depth()) : name);
  return out;
}

NamedTensors pytorch_state(const torch::nn::Module& encoder) {
  const auto tensors = export_state_tensors(encoder);
  NamedTensors out;
  for (const auto& [mine, theirs] : pytorch_names(encoder)) {
    at::Tensor t = tensors.at(mine).detach().to(at::kCPU);
    if (t.is_floating_point()) t = t.to(at::kFloat);
    out.emplace_back(theirs, t.contiguous());
  }
  return out;
}

ExportResult export_run(const std::string& run_dir, const std::string& format, const std::string& out) {
  CONTRA_CHECK(format == "pytorch", "unknown export format '", format, "' (supported: pytorch)");
  const RunDir dir = RunDir::open(run_dir);
  const config::RunConfig cfg = config::load(dir.file("config.yaml"));
  // Image-text runs export their image tower.
  CONTRA_CHECK(methods::method_info(cfg.method).modality != methods::Modality::kText,
               "contra export supports image encoders; run '", run_dir, "' trains method ",
               cfg.method, " (a text encoder)");
  std::error_code ec;
  CONTRA_CHECK(std::filesystem::exists(dir.file("checkpoint.pt"), ec), "run folder '", run_dir,
               "' has no checkpoint.pt: nothing to export (a run saves one every "
               "train.checkpoint_every steps and when it ends)");
  ExportResult result;
  result.weights = out;
  result.metadata = std::filesystem::path(out).replace_extension(".json").string();
  CONTRA_CHECK(result.metadata != out, "--out '", out, "' would be overwritten by the metadata; name it FILE.pt");
  const auto parent = std::filesystem::path(out).parent_path();
  CONTRA_CHECK(parent.empty() || std::filesystem::is_directory(parent, ec), "cannot write '", out,
               "': folder '", parent.string(), "' does not exist");

  auto method = method_for_run(dir.path());
  result.step = Checkpoints(dir.path(), cfg.train.keep_checkpoints).load_latest(*method, nullptr).step;
  const auto encoder = image_encoder_of(*method, "contra export");
  const NamedTensors state = pytorch_state(*encoder);
  result.tensors = int64_t(state.size());
  write_state_dict(out, state);
  write_file_atomically(result.metadata,
                        export_metadata(*encoder, cfg, dir.path(), result.step, out).dump(2) + "\n");
  return result;
}

InitReport init_encoder_from(methods::Method& method, const std::string& path) {
  auto encoder = image_encoder_of(method, "model.init_from");
  const auto names = pytorch_names(*encoder);
  const NamedTensors file = read_state_dict(path);
  std::map<std::string, at::Tensor> by_name(file.begin(), file.end());
  const auto mine = export_state_tensors(*encoder);

  std::vector<std::string> missing;
  for (const auto& [own, theirs] : names) {
    const bool optional = theirs.size() >= 19 && theirs.rfind("num_batches_tracked") == theirs.size() - 19;
    if (!by_name.count(theirs) && !optional) missing.push_back(theirs);
  }
  CONTRA_CHECK(missing.empty(), "model.init_from '", path, "' lacks '", missing.front(), "' (",
               missing.size(), " of the encoder's ", names.size(), " keys missing; the file has ",
               file.size(), " keys, the encoder is ", describe_encoder(*encoder),
               "; names are torchvision's for ResNets, see docs/EXPORT.md)");

  InitReport report;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (const auto& [own, theirs] : names) {
    auto it = by_name.find(theirs);
    if (it == by_name.end()) continue;
    at::Tensor target = mine.at(own);
    const at::Tensor& source = it->second;
    CONTRA_CHECK(source.sizes() == target.sizes(), "model.init_from '", path, "': '", theirs,
                 "' has shape ", source.sizes(), " but the encoder ", describe_encoder(*encoder),
                 " needs ", target.sizes(),
                 theirs == "conv1.weight"
                     ? " (model.small_stem=true needs the 3x3 stem of docs/EXPORT.md, torchvision's is "
                       "7x7; data.channels sets the input channels)"
                     : " (check model.encoder, model.base_width, model.widths)");
    target.copy_(source);
    used.insert(theirs);
    ++report.loaded;
  }
  for (const auto& [key, tensor] : file)
    if (!used.count(key)) report.ignored.push_back(key);
  const auto children = method.named_children();
  if (const auto* key_encoder = children.find("key_encoder"))
    models::copy_into(**key_encoder, *encoder);  // MoCo's momentum copy starts equal
  return report;
}

}  // namespace contra::run
