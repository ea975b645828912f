"""data=images: an image folder with one sub-folder per class (the ImageFolder layout every framework reads), split
here, or a training folder and a test folder (data.test_path). PNG and JPEG, read with Pillow.

Each image becomes one row of pixels, channels last (row-major over height, width, channel), scaled by `data.scale`
and normalised per channel by `data.normalize: {mean, std}` so the rows are what the model takes; an ONNX model's
4-D input gets them reshaped to `data.layout` (NCHW or NHWC), a model fitted here (scikit-learn's MLP) takes them
flat. Images of different sizes need `data.image_size: [H, W]` (resized, bilinear); `data.channels: 1 | 3` converts
(null: the first image's). A file that is not an image, a size that differs without `image_size`, or a class folder
with no image is an error naming it.
"""
from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from postreport.errors import UserError
from postreport.data.dataset import Dataset
from postreport.data.decide import decide_task, positive_label, sorted_labels

SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "1", "F")
LAYOUTS = ("NCHW", "NHWC")


def load_images(cfg, seed: int) -> Dataset:
    if not cfg.path and not cfg.test_path:
        raise UserError("data=images needs data.path: a folder with one sub-folder of images per class (and "
                        "optionally data.test_path, a folder of the same layout held out for testing)")
    if cfg.layout not in LAYOUTS:
        raise UserError(f"data.layout={cfg.layout!r} is not valid; valid: {', '.join(LAYOUTS)}")
    if cfg.channels not in (None, 1, 3):
        raise UserError(f"data.channels={cfg.channels!r} is not valid; valid: 1 (grayscale), 3 (RGB) or null (the "
                        "first image's)")
    notes: list = []
    resize = _size(cfg.image_size)
    size = resize  # every image's (H, W): data.image_size, else the first image's
    channels = cfg.channels
    parts = {}
    for key in ("data.path", "data.test_path"):
        folder = cfg.path if key == "data.path" else cfg.test_path
        if folder:
            files, labels = _listing(folder, key)
            with pillow_limit(cfg.max_pixels):
                if channels is None:
                    channels = 3 if _mode(files[0], cfg.max_pixels) not in GREY_MODES else 1
                pixels, size = _read(files, resize, size, channels, key, cfg.max_pixels, notes)
            parts[key] = (files, labels, pixels)
    h, w = size
    X_all = [p for _, _, p in parts.values()]
    X_all = _normalised(X_all, cfg, channels)
    columns = _columns(h, w, channels)
    labels_all = pd.Series([label for _, labels, _ in parts.values() for label in labels])
    task = decide_task(cfg.task, labels_all, "class folder", notes)
    if task == "regression":
        raise UserError("data=images: the class folders' names read as numbers with many values; set data.task="
                        "multiclass (or binary)")
    if "data.test_path" in parts:
        train = parts.get("data.path")
        test = parts["data.test_path"]
        X_train = None if train is None else pd.DataFrame(X_all[0], columns=columns)
        y_train = None if train is None else pd.Series(train[1], name="class")
        X_test = pd.DataFrame(X_all[-1], columns=columns)
        y_test, test_files = pd.Series(test[1], name="class"), test[0]
    else:
        from sklearn.model_selection import train_test_split

        files, labels, _ = parts["data.path"]
        rows = np.arange(len(files))
        counts = pd.Series(labels).value_counts()
        stratify = labels if cfg.stratify and counts.min() >= 2 else None
        train_rows, test_rows = train_test_split(rows, test_size=cfg.test_size, stratify=stratify,
                                                 random_state=seed if cfg.seed is None else cfg.seed)
        X_train = pd.DataFrame(X_all[0][train_rows], columns=columns)
        X_test = pd.DataFrame(X_all[0][test_rows], columns=columns)
        y_train = pd.Series(np.asarray(labels, dtype=object)[train_rows], name="class")
        y_test = pd.Series(np.asarray(labels, dtype=object)[test_rows], name="class")
        test_files = [files[i] for i in test_rows]
        notes.append(f"Split {len(files)} images into {len(train_rows)} for training and {len(test_rows)} for testing "
                     f"({'stratified, ' if stratify is not None else ''}test_size={cfg.test_size}).")
    labels = sorted_labels(pd.concat([y for y in (y_train, y_test) if y is not None]))
    positive = positive_label(cfg.positive_label, labels) if task == "binary" else None
    notes.append(f"Images of {h}×{w}×{channels} ({'RGB' if channels == 3 else 'grayscale'}), pixels × "
                 f"{cfg.scale:g}" + (f", normalised by mean {list(cfg.normalize['mean'])} and sd "
                                     f"{list(cfg.normalize['std'])}" if cfg.normalize else "")
                 + f"; the model's input layout {cfg.layout}.")
    return Dataset(name=cfg.name, task=task, target="class", X_train=X_train, y_train=y_train, X_test=X_test,
                   y_test=y_test, labels=labels, positive_label=positive, image_shape=(h, w), channels=channels,
                   layout=cfg.layout, source=", ".join(str(Path(p)) for p in (cfg.path, cfg.test_path) if p),
                   notes=notes, files={}, test_keys=np.array([str(f) for f in test_files], dtype=object),
                   key_name="file", image_files=[str(f) for f in test_files])


def _size(value) -> Optional[tuple]:
    if value is None:
        return None
    size = list(value)
    if len(size) != 2 or any(not isinstance(v, int) or v < 1 for v in size):
        raise UserError(f"data.image_size={size!r} must be [height, width] in pixels, e.g. [32, 32]")
    return tuple(size)


def _listing(folder: str, key: str) -> tuple:
    """(files, labels): every image below the folder's class sub-folders, in sorted order."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"{key}={folder!r}: no such folder (a folder with one sub-folder of images per class; "
                        f"relative paths are taken from {Path.cwd()})")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if len(classes) < 2:
        raise UserError(f"{key}={folder!r} has {len(classes)} class folder(s); it needs one sub-folder per class "
                        "(at least 2), each holding that class's images")
    files, labels = [], []
    for c in classes:
        inside = sorted(f for f in c.rglob("*") if f.is_file() and not f.name.startswith((".", "_")))
        if not inside:
            raise UserError(f"{key}: the class folder {c} holds no image; remove it or add its images")
        files += inside
        labels += [c.name] * len(inside)
    return files, labels


def _mode(path: Path, max_pixels: int) -> str:
    """The image's mode; a palette image ("P") as "L" when its colours are greys, else "RGB" (a colour palette
    read as grayscale would lose its colours)."""
    with _opened(path, max_pixels) as image:
        if image.mode in ("P", "PA"):
            rgb = np.asarray(image.convert("RGB"))
            return "L" if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all() else "RGB"
        return image.mode


@contextmanager
def _opened(path: Path, max_pixels: int):
    """The image opened by Pillow, its size checked against data.max_pixels before any pixel is decoded (a
    decompression bomb: 30,000 × 30,000 pixels in 109 KB); an error naming the file for what Pillow cannot read.
    Pillow's own limit is data.max_pixels while the folder is read (pillow_limit)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:  # past twice the limit: Pillow refuses from the header
        raise UserError(f"{path}: {str(exc).rstrip('.')}: more than data.max_pixels={max_pixels:,} (if the image "
                        "is real, set data.max_pixels higher)") from None
    except (UnidentifiedImageError, OSError):
        raise UserError(f"{path} is not an image Pillow can read; valid: PNG or JPEG files") from None
    with image:
        if image.width * image.height > max_pixels:
            raise UserError(f"{path} is {image.width:,}×{image.height:,} pixels, more than data.max_pixels="
                            f"{max_pixels:,} (a decompression bomb; if the image is real, set data.max_pixels "
                            "higher)")
        yield image


@contextmanager
def pillow_limit(max_pixels: int):
    """Pillow's decompression-bomb limit set to data.max_pixels (its warning silenced: the size is checked here)
    while a folder is read, then restored."""
    from PIL import Image

    with _LIMIT, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        before, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = before


_LIMIT = threading.Lock()


SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")  # 16-bit grayscale: 0..65535, read without clipping


def _read(files: list, resize: Optional[tuple], size: Optional[tuple], channels: int, key: str,
          max_pixels: int, notes: list) -> tuple:
    """(pixels (n, H*W*C) float32 on the 0-255 scale, (H, W)): each image turned by its EXIF orientation,
    converted to grayscale or RGB (16-bit grayscale divided by 257 to that scale, not clipped at 255 as Pillow's
    convert does), resized when `resize` is set; every image must be `size` (None: the first image's). More than
    `max_pixels` pixels is an error naming the file (a decompression bomb expands a small file to gigabytes)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    mode = "L" if channels == 1 else "RGB"
    out = None
    deep, turned = 0, 0
    for i, path in enumerate(files):
        try:
            with _opened(path, max_pixels) as image:
                if image.getexif().get(ORIENTATION, 1) != 1:
                    image, turned = ImageOps.exif_transpose(image), turned + 1
                if image.mode in SIXTEEN_BIT or image.mode == "I" and _sixteen_bit(image):
                    deep += 1
                    image = Image.fromarray(np.asarray(image, dtype=np.float32) / np.float32(257))  # mode "F"
                    if resize is not None and image.size != (resize[1], resize[0]):
                        image = image.resize((resize[1], resize[0]), Image.BILINEAR)
                    pixels = np.asarray(image, dtype=np.float32)
                    if channels == 3:
                        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
                else:
                    image = image.convert(mode)
                    if resize is not None and image.size != (resize[1], resize[0]):
                        image = image.resize((resize[1], resize[0]), Image.BILINEAR)
                    pixels = np.asarray(image, dtype=np.float32)
        except (UnidentifiedImageError, OSError):
            raise UserError(f"{path} is not an image Pillow can read; valid: PNG or JPEG files") from None
        if size is None:
            size = pixels.shape[:2]
        if pixels.shape[:2] != tuple(size):
            raise UserError(f"{path} is {pixels.shape[1]}×{pixels.shape[0]} pixels, other images are "
                            f"{size[1]}×{size[0]}; set data.image_size=[H, W] to resize them all")
        if out is None:
            out = np.empty((len(files), pixels.size), dtype=np.float32)
        out[i] = pixels.reshape(-1)
    if deep:
        notes.append(f"{deep:,} images of {key} are 16-bit grayscale: their values (0 to 65,535) were divided by 257 "
                     "to the 0-255 scale of 8-bit images before data.scale, keeping every level.")
    if turned:
        notes.append(f"{turned:,} images of {key} carry an EXIF orientation: they were turned upright as a viewer "
                     "shows them before reading their pixels.")
    return out, tuple(size)


ORIENTATION = 0x0112  # the EXIF tag of an image's orientation


def _sixteen_bit(image) -> bool:
    """A 32-bit integer image ("I") whose values fit 16 bits and exceed 8: a 16-bit PNG as some Pillow versions
    open it."""
    low, high = image.getextrema()
    return low >= 0 and 255 < high <= 65535


def _normalised(parts: list, cfg, channels: int) -> list:
    """Pixels × data.scale, then per channel (x - mean) / std when data.normalize is set."""
    out = [p * np.float32(cfg.scale) for p in parts]
    if cfg.normalize:
        mean, std = (np.asarray(cfg.normalize.get(k, []), dtype=np.float32) for k in ("mean", "std"))
        if len(mean) != channels or len(std) != channels or (std <= 0).any():
            raise UserError(f"data.normalize needs mean and std with {channels} value(s) each (one per channel), std "
                            f"> 0; got mean={list(mean)}, std={list(std)}")
        out = [((p.reshape(len(p), -1, channels) - mean) / std).reshape(len(p), -1) for p in out]
    return out


def _columns(h: int, w: int, channels: int) -> list:
    """Pixel column names: r{row}c{col} (grayscale) or r{row}c{col}{R|G|B}."""
    if channels == 1:
        return [f"r{r}c{c}" for r in range(h) for c in range(w)]
    return [f"r{r}c{c}{ch}" for r in range(h) for c in range(w) for ch in "RGB"]
