"""data=images and saliency you can check: the ImageFolder reader (PNG and JPEG, grayscale and RGB, bad files exit 2),
and a small convolutional ONNX model built here (onnx.helper) on generated images whose class is decided by an
object at a random place: occlusion and RISE point inside the object's box, the randomised model's maps do not, and
an explainer that ignores the model is flagged by the randomisation check."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from postreport.explain import image_saliency as im
from postreport.errors import UserError

SIZE, OBJECT = 16, 5


def object_images(n: int, seed: int) -> tuple:
    """(rows (n, SIZE*SIZE*3) in [0, 1], labels 0/1, boxes): dim noise, and a bright OBJECT x OBJECT square at a
    random place, red (class 0) or blue (class 1)."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 0.15, (n, SIZE, SIZE, 3))
    labels = rng.integers(0, 2, n)
    boxes = []
    for i in range(n):
        t, left = rng.integers(0, SIZE - OBJECT + 1, 2)
        images[i, t:t + OBJECT, left:left + OBJECT, 0 if labels[i] == 0 else 2] = 0.9
        boxes.append((t, left, t + OBJECT, left + OBJECT))
    return images.reshape(n, -1), labels, boxes


def cnn(path: Path, label_output: bool = False) -> Path:
    """A convolutional classifier as an ONNX graph: a 3x3 convolution with one filter per colour (red, blue), ReLU
    past a threshold, global max pooling, a dense layer and softmax (NCHW input). label_output: also the argmax's
    column as an int64 label (0: red, 1: blue), and no classes in the metadata."""
    import onnx
    from onnx import TensorProto, helper

    w = np.zeros((2, 3, 3, 3), np.float32)
    w[0, 0], w[1, 2] = 1 / 9, 1 / 9  # mean of the red / blue channel around each pixel
    bias = np.array([-0.5, -0.5], np.float32)
    dense = np.array([[8.0, -8.0], [-8.0, 8.0]], np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalMaxPool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "d", "e"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])]
    if label_output:
        nodes.append(helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0))
        outputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, [None]))
    inits = [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel()),
             helper.make_tensor("b", TensorProto.FLOAT, [2], bias),
             helper.make_tensor("d", TensorProto.FLOAT, [2, 2], dense.ravel()),
             helper.make_tensor("e", TensorProto.FLOAT, [2], np.zeros(2, np.float32))]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                          [None, 3, SIZE, SIZE])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if not label_output:
        model.metadata_props.add(key="classes", value="red,blue")
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def onnx_cnn(tmp_path_factory):
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'postreport[onnx]')")
    pytest.importorskip("onnx", reason="onnx is not installed (pip install 'postreport[onnx]')")
    from postreport.models import onnx_model

    rows, labels, boxes = object_images(40, 1)
    columns = [f"p{i}" for i in range(rows.shape[1])]
    data = SimpleNamespace(X_test=pd.DataFrame(rows, columns=columns), X_train=None, task="binary",
                           labels=["blue", "red"], features=columns, image_shape=(SIZE, SIZE), channels=3,
                           layout="NCHW")
    path = cnn(tmp_path_factory.mktemp("cnn") / "cnn.onnx")
    model, notes = onnx_model.load(path, SimpleNamespace(features=None, outputs={}, classes=None), data, 1)
    return model, rows, np.where(labels == 0, "red", "blue"), boxes


def test_integer_labels_name_the_class_folders_and_classes_that_disagree_are_an_error(onnx_cnn, tmp_path):
    """Class folders '0' and '1' with a model whose label output is the integers 0 and 1: the predictions are the
    folders' labels (every row was counted wrong); model.classes naming other labels than the label output, or the
    columns in the wrong order, is an error naming both."""
    from postreport.models import onnx_model
    from postreport.errors import UserError

    _, rows, labels, _ = onnx_cnn
    columns = [f"p{i}" for i in range(rows.shape[1])]
    X = pd.DataFrame(rows, columns=columns)
    data = SimpleNamespace(X_test=X, X_train=None, task="binary", labels=["0", "1"], features=columns,
                           image_shape=(SIZE, SIZE), channels=3, layout="NCHW")
    path = cnn(tmp_path / "labelled.onnx", label_output=True)
    model, notes = onnx_model.load(path, SimpleNamespace(features=None, outputs={}, classes=None), data, 1)
    expected = np.where(labels == "red", "0", "1")
    assert list(model.classes_) == ["0", "1"] and list(model.predict(X)) == list(expected)
    renamed, _ = onnx_model.load(path, SimpleNamespace(features=None, outputs={}, classes=["cat", "dog"]), data, 1)
    with pytest.raises(UserError, match=r"label output gives \[0, 1\], which are not among the classes"):
        renamed.predict(X)
    swapped, _ = onnx_model.load(path, SimpleNamespace(features=None, outputs={}, classes=["1", "0"]), data, 1)
    with pytest.raises(UserError, match="agree on 0.0% of the test rows"):
        swapped.predict(X)


def predictor(model):
    columns = list(model.feature_names_in_)
    order = [list(model.classes_).index(c) for c in ("blue", "red")]
    return lambda rows: model.predict_proba(pd.DataFrame(rows, columns=columns))[:, order]


def test_the_cnn_classifies_and_its_maps_point_at_the_object(onnx_cnn):
    model, rows, labels, boxes = onnx_cnn
    assert list(model.classes_) == ["red", "blue"] and (model.predict(rows) == labels).all()
    images = im.Images((SIZE, SIZE), 3, rows.mean(axis=0))
    target = np.where(labels == "red", 1, 0)  # column order blue, red
    predict = predictor(model)
    occ = im.occlusion(predict, images, rows, target, 3, 1)
    rise = im.rise(predict, images, rows, target, 400, 6, seed=0)
    assert im.pointing_game(occ, boxes) >= 0.8
    assert im.pointing_game(rise, boxes) >= 0.8
    copies = im.randomised_copies(model, seed=3)
    assert [name for name, _ in copies] == ["top layer", "all layers"]
    # every weight re-drawn: the maps change (mean |rank correlation| with the real ones below the check's level);
    # re-drawing the top layer alone only rescales this small net's readout of the object, so its maps keep their
    # ranks: the check reports that stage and judges on the fully randomised model
    shuffled = im.occlusion(predictor(copies[-1][1]), images, rows, target, 3, 1)
    assert np.mean([abs(im.spearman(a, b)) for a, b in zip(occ, shuffled)]) < im.SIMILAR


def test_the_checks_pass_real_maps_and_flag_an_explainer_that_ignores_the_model(onnx_cnn):
    model, rows, labels, boxes = onnx_cnn
    rows, labels = rows[:12], labels[:12]
    images = im.Images((SIZE, SIZE), 3, rows.mean(axis=0))
    target = np.where(labels == "red", 1, 0)
    copies = im.randomised_copies(model, seed=3)

    def occlusion(m):
        return im.occlusion(predictor(m), images, rows, target, 3, 1)

    def edges(m):  # the model is not asked: a gradient-magnitude edge map of the image
        grey = rows.reshape(len(rows), SIZE, SIZE, 3).mean(axis=3)
        gy, gx = np.gradient(grey, axis=(1, 2))
        return np.hypot(gx, gy)

    real = occlusion(model)
    checks = im.randomisation_check(occlusion, copies, real, 0.95, seed=1)
    assert not checks[-1]["barely_changed"] and checks[-1]["randomised"] == "all layers"
    flagged = im.randomisation_check(edges, copies, edges(model), 0.95, seed=1)
    assert all(c["barely_changed"] and c["rank_correlation"] == pytest.approx(1.0) for c in flagged)
    curves = im.deletion_insertion(predictor(model), images, rows, target, real, 0.95, seed=2)
    assert curves["deletion"]["faithful"] and curves["insertion"]["faithful"]
    assert curves["deletion"]["area"] < curves["deletion"]["random_area"]
    noise = np.random.default_rng(0).random(real.shape)  # a map unrelated to the model: no better than random
    assert not im.deletion_insertion(predictor(model), images, rows, target, noise, 0.95, seed=2)["deletion"][
        "faithful"]


def test_rise_masks_keep_about_half_and_are_seeded():
    m = im.random_masks((20, 20), 400, 5, 0.5, seed=1)
    assert m.shape == (400, 20, 20) and 0.45 < m.mean() < 0.55 and (m >= 0).all() and (m <= 1).all()
    assert np.array_equal(m, im.random_masks((20, 20), 400, 5, 0.5, seed=1))


def write_folder(root: Path, mode: str, suffixes=(".png", ".jpg"), size=(12, 10), n=6) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            shape = (size[0], size[1]) + ((3,) if mode == "RGB" else ())
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(
                root / name / f"{i}{suffixes[i % len(suffixes)]}")
    return root


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_the_image_folder_reader_reads_png_and_jpeg(tmp_path, mode):
    from PIL import Image

    from postreport.data.images import load_images

    root = write_folder(tmp_path / "imgs", mode)
    cfg = SimpleNamespace(path=str(root), test_path=None, image_size=None, channels=None, scale=1 / 255,
                          normalize={}, layout="NCHW", task=None, test_size=0.5, stratify=True, seed=None,
                          positive_label=None, name="imgs", max_pixels=89_478_485)
    data = load_images(cfg, seed=0)
    channels = 3 if mode == "RGB" else 1
    assert data.image_shape == (12, 10) and data.channels == channels and data.task == "binary"
    assert data.X_test.shape == (6, 12 * 10 * channels) and data.labels == ["cat", "dog"]
    first = Path(data.image_files[0])
    with Image.open(first) as image:  # the row is the file's pixels / 255, channels last
        expected = np.asarray(image.convert("RGB" if channels == 3 else "L"), dtype=np.float32).reshape(-1) / 255
    np.testing.assert_allclose(data.X_test.iloc[0].to_numpy(), expected, atol=1e-6)
    assert data.y_test.iloc[0] == first.parent.name
    cfg.image_size, cfg.channels = [8, 8], 3
    cfg.normalize = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    resized = load_images(cfg, seed=0)
    assert resized.X_test.shape[1] == 8 * 8 * 3 and resized.X_test.to_numpy().min() >= -2 - 1e-6


def test_bad_image_folders_are_exit_2_naming_the_file(tmp_path):
    from postreport.data.images import load_images

    def cfg(path, **kw):
        return SimpleNamespace(**{**dict(path=str(path), test_path=None, image_size=None, channels=None,
                                          scale=1 / 255, normalize={}, layout="NCHW", task=None, test_size=0.5,
                                          stratify=True, seed=None, positive_label=None, name="x",
                                          max_pixels=89_478_485), **kw})

    root = write_folder(tmp_path / "a", "L")
    (root / "cat" / "notes.png").write_text("not an image")
    with pytest.raises(UserError, match="notes.png is not an image"):
        load_images(cfg(root), 0)
    root = write_folder(tmp_path / "b", "L")
    write_folder(tmp_path / "b", "L", size=(20, 20), n=1)  # one image of another size overwrites cat/0.png
    with pytest.raises(UserError, match="set data.image_size"):
        load_images(cfg(root), 0)
    assert load_images(cfg(root, image_size=[12, 10]), 0).X_test.shape[1] == 120
    root = write_folder(tmp_path / "c", "L")
    (root / "bird").mkdir()
    with pytest.raises(UserError, match="bird holds no image"):
        load_images(cfg(root), 0)
    with pytest.raises(UserError, match="data.layout='NWHC' is not valid"):
        load_images(cfg(root, layout="NWHC"), 0)
    with pytest.raises(UserError, match="no such folder"):
        load_images(cfg(tmp_path / "nope"), 0)
    from PIL import Image

    root = write_folder(tmp_path / "d", "L")
    Image.new("1", (30000, 30000)).save(root / "cat" / "bomb.png")  # about 100 KB on disk, 900 M pixels
    with pytest.raises(UserError, match=r"bomb.png: Image size \(900000000 pixels\).* data.max_pixels=89,478,485"):
        load_images(cfg(root), 0)
    with pytest.raises(UserError, match=r"bomb.png is 30,000×30,000 pixels, more than data.max_pixels=500,000,000"):
        load_images(cfg(root, max_pixels=500_000_000), 0)
    from PIL import Image as PillowImage
    assert PillowImage.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's own limit restored


def test_sixteen_bit_and_exif_rotated_images_are_read_as_a_viewer_shows_them(tmp_path):
    """A 16-bit PNG keeps its levels (divided by 257 to the 8-bit scale; Pillow's convert("L") clipped every value
    above 255 to 255), and a JPEG whose EXIF orientation says 'turned 90°' is read upright; notes say both."""
    from PIL import Image

    from postreport.data.images import load_images

    rng = np.random.default_rng(0)
    deep = {}
    for name in ("a", "b"):
        (tmp_path / "deep" / name).mkdir(parents=True)
        for i in range(4):
            values = rng.integers(0, 65536, (6, 5)).astype(np.uint16)
            Image.fromarray(values).save(tmp_path / "deep" / name / f"{i}.png")
            deep[f"{name}/{i}.png"] = values
    cfg = SimpleNamespace(path=str(tmp_path / "deep"), test_path=None, image_size=None, channels=None, scale=1 / 255,
                          normalize={}, layout="NCHW", task=None, test_size=0.5, stratify=True, seed=None,
                          positive_label=None, name="deep", max_pixels=89_478_485)
    data = load_images(cfg, seed=0)
    for row, file in zip(data.X_test.to_numpy(), data.image_files):
        expected = deep["/".join(Path(file).parts[-2:])].reshape(-1) / 257 / 255
        np.testing.assert_allclose(row, expected, rtol=1e-5)
    assert any("16-bit grayscale" in n and "divided by 257" in n for n in data.notes)
    upright = np.zeros((8, 4, 3), np.uint8)
    upright[:2] = 255  # a white band at the top of a tall image
    for name in ("a", "b"):
        (tmp_path / "turned" / name).mkdir(parents=True)
        for i in range(2):
            stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # stored lying on its side
            exif = Image.Exif()
            exif[0x0112] = 6  # "rotate 90° clockwise to view": undoes the stored counter-clockwise turn
            stored.save(tmp_path / "turned" / name / f"{i}.jpg", exif=exif, quality=100)
    cfg.path, cfg.name = str(tmp_path / "turned"), "turned"
    data = load_images(cfg, seed=0)
    assert data.image_shape == (8, 4)
    image = data.X_test.to_numpy()[0].reshape(8, 4, 3)
    assert image[:2].mean() > 0.9 and image[3:].mean() < 0.1
    assert any("EXIF orientation" in n for n in data.notes)


@pytest.mark.slow
def test_an_onnx_image_model_from_the_command_line(onnx_cnn, tmp_path):
    """data=images + model=file model.path=cnn.onnx end to end: the metrics are the model's own predictions' (equal
    to scikit-learn's on them), saliency runs both methods with their checks, says the sizes it used, and each
    verdict follows its intervals."""
    from conftest import run_report
    from PIL import Image
    from sklearn import metrics as skm

    model, rows, labels, boxes = onnx_cnn
    for i, (row, label) in enumerate(zip(rows, labels)):
        (tmp_path / "test" / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray((row.reshape(SIZE, SIZE, 3) * 255).round().astype(np.uint8)).save(
            tmp_path / "test" / label / f"{i:03d}.png")
    path = cnn(tmp_path / "cnn.onnx")
    result, _ = run_report(tmp_path, ["data=images", f"data.test_path={tmp_path / 'test'}", "model=file",
                                      f"model.path={path}", "report.analyses=[metrics,confusion_matrix,saliency]"])
    assert [s["status"] for s in result.metrics["sections"]] == ["ok", "ok", "ok"]
    saliency = result.metrics["results"]["saliency"]
    assert set(saliency["checks"]) == {"occlusion", "rise"} and saliency["masks"] >= 100
    assert saliency["checks"]["rise"]["verdict"] == "passes"
    for check in saliency["checks"].values():  # each verdict follows its intervals
        faithful = check["deletion"]["faithful"] or check["insertion"]["faithful"]
        changed = not check["randomisation"][-1]["barely_changed"]
        assert (check["verdict"] == "passes") == (faithful and changed)
        assert check["deletion"]["faithful"] == (check["deletion"]["ci"][1] < 0)
    read = np.array([Image.open(f).convert("RGB") for f in sorted((tmp_path / "test").rglob("*.png"))],
                    dtype=np.float32).reshape(len(rows), -1) / 255
    truth = [Path(f).parent.name for f in sorted((tmp_path / "test").rglob("*.png"))]
    assert result.metrics["metrics"]["accuracy"] == pytest.approx(skm.accuracy_score(truth, model.predict(read)))


def test_a_colour_palette_image_sets_three_channels_and_a_grey_one_one(tmp_path):
    """Palette PNGs ("P") were always read as grayscale: a red/blue palette lost its colours."""
    from PIL import Image

    from postreport.data.images import load_images

    for name, colours in (("colour", [(255, 0, 0), (0, 0, 255)]), ("grey", [(30, 30, 30), (200, 200, 200)])):
        for label in ("a", "b"):
            (tmp_path / name / label).mkdir(parents=True)
            for i in range(3):
                image = Image.new("P", (4, 4))
                image.putpalette([v for c in colours for v in c])
                image.putpixel((i, i), 1)
                image.save(tmp_path / name / label / f"{i}.png")
    cfg = SimpleNamespace(path=str(tmp_path / "colour"), test_path=None, image_size=None, channels=None,
                          scale=1 / 255, normalize={}, layout="NCHW", task=None, test_size=0.5, stratify=True,
                          seed=None, positive_label=None, name="p", max_pixels=89_478_485)
    data = load_images(cfg, seed=0)
    assert data.channels == 3 and data.X_test.to_numpy().reshape(-1, 4, 4, 3)[0, :, :, 0].max() == 1.0
    cfg.path = str(tmp_path / "grey")
    assert load_images(cfg, seed=0).channels == 1
