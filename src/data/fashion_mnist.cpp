#include "contra/data/fashion_mnist.h"

#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "contra/core/error.h"
#include "contra/data/idx.h"

namespace contra::data {
namespace {

namespace fs = std::filesystem;

/// dir/name.gz if present, else dir/name; throws naming both when neither exists.
std::string find_file(const std::string& dir, const std::string& name) {
  const fs::path base = fs::path(dir) / name;
  std::error_code ec;
  for (const fs::path& p : {fs::path(base.string() + ".gz"), base}) {
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  CONTRA_CHECK(fs::is_directory(dir, ec), "Fashion-MNIST: directory ", dir,
               " not found (Debian: apt install dataset-fashion-mnist, default ",
               kFashionMnistDefaultDir, ")");
  throw Error(c10::str("Fashion-MNIST: ", base.string(), "(.gz) not found in ", dir,
                       " (expected {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])"));
}

}  // namespace

std::string fashion_mnist_file(const std::string& dir, Split split, bool labels) {
  return find_file(dir, std::string(split == Split::kTrain ? "train" : "t10k") +
                            (labels ? "-labels-idx1-ubyte" : "-images-idx3-ubyte"));
}

std::vector<std::string> fashion_mnist_classes() {
  // Fashion-MNIST's names; for plain MNIST these would be the digits.
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

ImageDataset load_fashion_mnist(const std::string& dir, Split split, int64_t limit) {
  CONTRA_CHECK(limit >= 0, "Fashion-MNIST: limit must be >= 0, got ", limit);
  const std::string images_path = fashion_mnist_file(dir, split, /*labels=*/false);
  const std::string labels_path = fashion_mnist_file(dir, split, /*labels=*/true);

  at::Tensor images = read_idx(images_path);
  CONTRA_CHECK(images.dim() == 3, images_path, ": expected 3 dimensions (count x rows x cols), got ",
               images.sizes());
  at::Tensor labels = read_idx(labels_path);
  CONTRA_CHECK(labels.dim() == 1, labels_path, ": expected 1 dimension (count), got ",
               labels.sizes());
  CONTRA_CHECK(images.size(0) == labels.size(0), "Fashion-MNIST: count mismatch: ", images_path,
               " has ", images.size(0), " images but ", labels_path, " has ", labels.size(0),
               " labels");

  const int64_t max_label = labels.max().item<int64_t>();
  if (max_label > 9) {
    const int64_t at = (labels > 9).nonzero()[0][0].item<int64_t>();
    throw Error(c10::str(labels_path, ": label ", labels[at].item<int64_t>(), " at index ", at,
                         " is outside 0..9"));
  }

  int64_t n = images.size(0);
  if (limit > 0 && limit < n) n = limit;

  ImageDataset ds;
  ds.images = images.narrow(0, 0, n).unsqueeze(1).contiguous();
  ds.labels = labels.narrow(0, 0, n).to(torch::kInt64).contiguous();
  if (n < images.size(0)) {
    // Do not keep the whole file alive behind a narrow view.
    ds.images = ds.images.clone();
  }
  ds.class_names = fashion_mnist_classes();
  return ds;
}

}  // namespace contra::data
