"""Stock PyTorch/torchvision side of the Export.* tests (tests/run/export_test.cpp).

  keys NAMES.json                      contra's torchvision names for resnet18/34/50 equal
                                       torchvision's state_dict keys without fc.*, in order
  features WEIGHTS.pt CHECK.pt DOCS.md the encoder rebuilt by the first python block of DOCS.md
                                       from WEIGHTS.pt (contra export) gives CHECK.pt's features
                                       of CHECK.pt's images (contra's own), within 1e-4
  init OUT.pt INPUTS.pt FEATURES.pt    saves a random torchvision resnet18 (small stem, the
                                       inputs' channels, batch-norm statistics perturbed) to OUT.pt
                                       and its eval-mode features of the inputs to FEATURES.pt

Prints one line per check; exit status 0 when all hold.
"""
import json
import re
import sys

import torch
import torchvision

TOLERANCE = 1e-4


def check_keys(names_path):
    with open(names_path) as f:
        contra_names = json.load(f)
    ok = True
    for model_name, names in contra_names.items():
        expected = [k for k in getattr(torchvision.models, model_name)().state_dict()
                    if not k.startswith("fc.")]
        same = names == expected
        ok &= same
        print(f"{model_name}: {len(names)} contra names, {len(expected)} torchvision keys "
              f"without fc: {'equal' if same else 'DIFFERENT'}")
        if not same:
            print("  only contra:", sorted(set(names) - set(expected))[:10])
            print("  only torchvision:", sorted(set(expected) - set(names))[:10])
    return ok


def docs_namespace(docs_path):
    with open(docs_path) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    if not blocks:
        raise SystemExit(f"{docs_path} has no python block")
    namespace = {}
    exec(compile(blocks[0], docs_path, "exec"), namespace)
    return namespace


def check_features(weights_path, check_path, docs_path):
    docs = docs_namespace(docs_path)
    model, meta = docs["load_contra_encoder"](weights_path)
    check = torch.load(check_path)
    images, expected = check["images"], check["features"]
    with torch.no_grad():
        features = model(docs["contra_preprocess"](images, meta))
    diff = (features - expected).abs().max().item()
    scale = expected.abs().max().item()
    print(f"{meta['encoder']}: {images.shape[0]} images, features {tuple(features.shape)}, "
          f"max |feature| {scale:.4g}, max_abs_diff {diff:.3g}")
    return features.shape == expected.shape and diff <= TOLERANCE


def make_init(out_path, inputs_path, features_path):
    torch.manual_seed(1)
    inputs = torch.load(inputs_path)["inputs"]
    model = torchvision.models.resnet18()
    model.fc = torch.nn.Linear(512, 10)  # saved too: contra ignores fc.*
    model.conv1 = torch.nn.Conv2d(inputs.shape[1], 64, 3, 1, 1, bias=False)
    model.maxpool = torch.nn.Identity()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
    torch.save(model.state_dict(), out_path)
    model.fc = torch.nn.Identity()
    model.eval()
    with torch.no_grad():
        features = model(inputs)
    torch.save({"features": features}, features_path)
    print(f"saved resnet18 ({inputs.shape[1]} channels, small stem) to {out_path}; "
          f"features {tuple(features.shape)} to {features_path}")
    return True


def main(argv):
    commands = {"keys": (check_keys, 1), "features": (check_features, 3), "init": (make_init, 3)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__)
        return 2
    function, _ = commands[argv[1]]
    return 0 if function(*argv[2:]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
