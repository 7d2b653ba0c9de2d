"""CIFAR-10 (or the reader's own labelled images) as uint8 arrays, and the known/unknown split.

Sources, tried in this order:
1. a path given by the caller, else the ``SEMISUP_DATA`` environment variable: the original
   ``cifar-10-batches-py`` folder or ``cifar-10-python.tar.gz``, an ImageFolder tree
   (``train/<class>/**``, ``test/<class>/**``) or a ``.tar.gz`` of one (the JPEG copy of
   CIFAR-10, or any dataset: class names come from the folders, images of another size or
   mode are converted to the 32x32 RGB the report's CNN takes, 16-bit and float ones scaled to
   8 bits first; docs/data.md says what is read and what is skipped);
2. the original download through torchvision into the cache folder.
Decoded arrays are cached (see :mod:`semisup_utils.base.cache`), so a second load is fast.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np

from ..base.cache import ArrayCache

DATA_ENV = "SEMISUP_DATA"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (32, 32, 3)
ACCEPTED_FORMATS = (
    "the original 'cifar-10-batches-py' folder (or a folder holding it), "
    "the original 'cifar-10-python.tar.gz', an ImageFolder tree with train/<class>/ and "
    "test/<class>/ folders of images (any class names, at least two classes), or a .tar.gz "
    "of such a tree (e.g. the JPEG copy of CIFAR-10)"
)
DECODE_VERSION = 3  # 2: any class names, 32x32 RGB; 3: 16-bit/float scaled, nested folders read
SPLITS = ("train", "test")
# what torchvision's ImageFolder finds (its IMG_EXTENSIONS), and GIF and the other netpbm kinds
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp",
                    ".gif", ".pbm", ".pnm")


class DataError(ValueError):
    """A dataset path is missing, unreadable or not in an accepted layout."""


class DataNotFoundError(FileNotFoundError):
    """No copy of CIFAR-10 could be found or downloaded."""


class DataWarning(UserWarning):
    """Files of an image folder were left out (said at every load, cached or not)."""


@dataclass(frozen=True, eq=False)
class CIFAR10:
    """The train and test images (N, 32, 32, 3) uint8 with int64 labels in 0..n_classes-1.

    Named after the study's dataset; any labelled image folder loads into it too, with its own
    ``classes``, and ``conversion`` saying how its images were brought to 32x32 RGB.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    fingerprint: str
    classes: tuple = CLASSES
    conversion: str = ""  # e.g. "resized to 32x32 RGB from 28x28 L"; empty when none was needed
    skipped: str = ""  # files of an image folder left out, with a count and examples; or empty

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def is_cifar10(self) -> bool:
        """CIFAR-10 (or a subset of it): the report's numbers apply."""
        return tuple(self.classes) == CLASSES

    @property
    def chance(self) -> float:
        """Accuracy of a constant guess among equally likely classes, in %."""
        return 100 / self.n_classes

    def __repr__(self) -> str:
        return (f"CIFAR10(train={self.n_train}, test={len(self.y_test)}, "
                f"source={self.source!r}, fingerprint={self.fingerprint[:12]})")


def fingerprint_arrays(*arrays: np.ndarray, classes=CLASSES) -> str:
    """Content hash: the cache key of everything computed from these images. Class names other
    than CIFAR-10's are hashed too, so two datasets never share caches or stored runs (CIFAR-10's
    fingerprint is what it always was, so its stored runs keep their keys)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).data)
    if tuple(classes) != CLASSES:
        digest.update(("classes:" + "\n".join(classes)).encode())
    return digest.hexdigest()


# ----------------------------------------------------------------------------- readers
class _BatchUnpickler(pickle.Unpickler):
    """Admits only what the original CIFAR-10 python batches hold: numpy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        # Python 3 re-pickles of the batches: protocol 2 bytes, protocol 5 buffers
        ("_codecs", "encode"), ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise DataError(f"refusing to unpickle {module}.{name}: a CIFAR-10 batch holds only "
                        "arrays, lists and strings")


_ROW = 3 * 32 * 32  # one image per row of a batch: its R, G and B planes


def _read_batch(blob: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One original batch (a pickled dict with b"data", (n, 3072) uint8, and b"labels", n ints)
    as (n, 32, 32, 3) images and int64 labels. Whatever is wrong with it (empty, not a pickle,
    not a dict, a key missing, wrong sizes) becomes one DataError naming ``where`` and the
    problem, so a bad download is fixed by fetching that file again, not by reading a traceback."""
    fix = "fetch the original CIFAR-10 again (or point SEMISUP_DATA at another copy)"
    if not blob:
        raise DataError(f"{where} is empty (0 bytes); {fix}")
    try:
        entry = _BatchUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except DataError as error:  # a global outside numpy's arrays: refused, never called
        raise DataError(f"{where}: {error}") from None
    except Exception as error:  # pickle raises many types on text or random bytes
        raise DataError(f"{where} is not a CIFAR-10 batch: it does not unpickle "
                        f"({type(error).__name__}: {error}); {fix}") from None
    if not isinstance(entry, dict):
        raise DataError(f"{where} is not a CIFAR-10 batch: it holds a {type(entry).__name__}, "
                        f"not a dict with b'data' and b'labels'; {fix}")
    missing = [repr(k) for k in (b"data", b"labels") if k not in entry]
    if missing:
        raise DataError(f"{where} is not a CIFAR-10 batch: its dict lacks {', '.join(missing)} "
                        f"(keys: {', '.join(map(repr, list(entry)[:6]))}); {fix}")
    try:
        data = np.asarray(entry[b"data"])
        labels = np.asarray(entry[b"labels"])
    except Exception as error:  # ragged lists and the like
        raise DataError(f"{where}: b'data' or b'labels' is not an array ({error}); {fix}") \
            from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _ROW:
        raise DataError(f"{where}: b'data' is {data.dtype} of shape {data.shape}, expected uint8 "
                        f"of shape (n, {_ROW}) (one 32x32 RGB image per row); {fix}")
    if labels.ndim != 1 or len(labels) != len(data) or \
            (len(labels) and not np.issubdtype(labels.dtype, np.integer)):
        raise DataError(f"{where}: b'labels' is {labels.dtype} of shape {labels.shape}, expected "
                        f"{len(data)} whole numbers (one per image in b'data'); {fix}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return images, labels.astype(np.int64)


_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def _assemble_batches(read, where) -> dict[str, np.ndarray]:
    """read(name) gives a batch's bytes; where(name) names it in errors (a path or member)."""
    def batch(name):
        try:
            blob = read(name)
        except (OSError, EOFError, tarfile.TarError) as error:
            raise DataError(f"{where(name)} cannot be read ({error}); fetch the original "
                            "CIFAR-10 again") from error
        return _read_batch(blob, where(name))

    parts = [batch(name) for name in _BATCHES]
    x_test, y_test = batch("test_batch")
    return {"x_train": np.concatenate([p[0] for p in parts]),
            "y_train": np.concatenate([p[1] for p in parts]),
            "x_test": x_test, "y_test": y_test}


def _read_python_folder(folder: Path) -> dict[str, np.ndarray]:
    return _assemble_batches(lambda name: (folder / name).read_bytes(),
                             lambda name: str(folder / name))


def _read_python_tarball(path: Path, members: dict[str, tarfile.TarInfo],
                         tar: tarfile.TarFile) -> dict[str, np.ndarray]:
    by_name = {Path(n).name: info for n, info in members.items()}
    missing = [n for n in _BATCHES + ["test_batch"] if n not in by_name]
    if missing:
        raise DataError(f"{path} looks like the original CIFAR-10 tarball but lacks {missing}")
    return _assemble_batches(lambda name: tar.extractfile(by_name[name]).read(),
                             lambda name: f"{path}:{by_name[name].name}")


# ----------------------------------------------------------------------------- image folders
def _text(raw: bytes) -> str:
    """A file name as text, the same whatever the locale: its bytes read as UTF-8 (bytes that are
    not UTF-8 kept as surrogates), so that ``LC_ALL=C`` gives the names, order and fingerprint a
    UTF-8 locale gives."""
    return raw.decode("utf-8", "surrogateescape")


def _raw(name: str) -> bytes:
    """The bytes of a name made by :func:`_text` (or read from a tarball as UTF-8)."""
    return name.encode("utf-8", "surrogateescape")


def _shown(name: str) -> str:
    """A name fit for a message in any encoding (bytes that are not UTF-8 shown as U+FFFD)."""
    return _raw(name).decode("utf-8", "replace")


def _to_8_bits(image, where: str):
    """A 16-bit or float image as 8-bit grey, and what was done (else the image as it is, None).

    PIL's ``convert("RGB")`` clips these at 255 (a 16-bit PNG turns nearly all white, a float
    image 0/1), so they are scaled first as torchvision's ``to_dtype(..., scale=True)`` does:
    16-bit values shifted right by 8 (mode ``I``, 32-bit, holds 16-bit data in PIL and is read
    so; values outside 0..65535 are refused), float values taken as brightness in [0, 1] and
    multiplied by 255 (values outside [0, 1] are refused: their scale is unknown)."""
    from PIL import Image

    mode = image.mode
    if mode != "I" and not mode.startswith("I;16") and mode != "F":
        return image, None
    values = np.asarray(image)
    if mode == "F":
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if not (np.isfinite(values).all() and 0 <= low and high <= 1):
            raise DataError(f"{where}: a float image (PIL mode F) with values from {low:g} to "
                            f"{high:g}; float images are read as brightness in [0, 1] (times "
                            "255, as torchvision's to_dtype does). Rescale it to [0, 1], or save "
                            "it as an 8- or 16-bit image")
        return Image.fromarray(np.round(values * 255).astype(np.uint8), "L"), \
            "scaled from [0, 1] to 8 bits"
    values = values.astype(np.int64)
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if low < 0 or high > 65535:
        raise DataError(f"{where}: a {mode} image with values from {low} to {high}; integer "
                        "images deeper than 8 bits are read as 16-bit (0..65535, shifted right "
                        "by 8). Save it as an 8- or 16-bit image")
    return Image.fromarray((values >> 8).astype(np.uint8), "L"), "scaled from 16 to 8 bits"


def _decode_image(blob: bytes, where: str) -> tuple[np.ndarray, str | None]:
    """The image as 32x32 RGB uint8, and what it was when it had to be converted (else None).

    16-bit and float images are first scaled to 8 bits (:func:`_to_8_bits`); grey, palette and
    RGBA images become RGB (transparency dropped); other sizes are resized with PIL's
    antialiased bicubic filter, aspect ratio not kept (the CNN takes 32x32)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(blob)) as image:
            original = f"{image.width}x{image.height} {image.mode}"
            eight, scaled = _to_8_bits(image, where)
            if scaled:
                original += f" {scaled}"
            rgb = eight.convert("RGB")
            if rgb.size != IMAGE_SHAPE[1::-1]:
                rgb = rgb.resize(IMAGE_SHAPE[1::-1], Image.Resampling.BICUBIC)
            array = np.asarray(rgb)
    except DataError:
        raise
    except Exception as error:  # PIL raises many types for a bad file
        raise DataError(f"cannot decode image {where}: {error}") from error
    return array, (None if original == "32x32 RGB" else original)


def _parts(name: str) -> tuple[str, ...]:
    """A member's path parts (PurePosixPath's, without its cost: 60,000 names per load)."""
    return tuple(part for part in name.split("/") if part not in ("", "."))


def _sort_key(name: str):
    """Files in a class folder by sub-folder, then by number where the stem is one; names
    compared as UTF-8 bytes, which any locale orders alike."""
    parent, _, base = name.rpartition("/")
    stem = os.path.splitext(base)[0]
    return (_raw(parent), 0, int(stem), _raw(name)) if stem.isdigit() else \
        (_raw(parent), 1, 0, _raw(name))


def folder_classes(files: dict[tuple[str, str], list[str]], where: str,
                   skipped: str = "") -> tuple[str, ...]:
    """The class names of an ImageFolder tree: CIFAR-10's order when its folders are CIFAR-10's
    ten, else sorted by name (torchvision's ImageFolder order). Every class needs images in both
    train/ and test/, and there must be at least two. ``skipped`` (what was left out) joins the
    error, since a class may be missing only because its files were not read."""
    train = {c for split, c in files if split == "train"}
    test = {c for split, c in files if split == "test"}
    left_out = f" ({skipped})" if skipped else ""
    problems = []
    for split, there, other in (("test", train, test), ("train", test, train)):
        if there - other:
            problems.append(f"{', '.join(sorted(there - other))} (no images in {split}/)")
    if problems:
        raise DataError(f"{where}: train/ and test/ must hold the same class folders; missing: "
                        f"{'; '.join(problems)}. Add the images or remove the class from both"
                        f"{left_out}")
    if len(train) < 2:
        raise DataError(f"{where} holds {len(train)} class folder(s) with images "
                        f"({', '.join(sorted(train))}); classification needs at least two"
                        f"{left_out}")
    return CLASSES if train == set(CLASSES) else tuple(sorted(train))


def _conversion_note(originals: dict[str, int], total: int) -> str:
    if not originals:
        return ""
    seen = ", ".join(f"{what} ({count:,})" for what, count in
                     sorted(originals.items(), key=lambda kv: -kv[1])[:3])
    more = f" and {len(originals) - 3} other kinds" if len(originals) > 3 else ""
    return (f"{sum(originals.values()):,} of {total:,} images converted to 32x32 RGB, from "
            f"{seen}{more}")


def _assemble_folder_images(files: dict[tuple[str, str], list[str]], read, where: str,
                            skipped: str = ""):
    """files maps (split, class) to member names; read(name) gives the bytes."""
    from ..base.progress import bar as progress_bar

    classes = folder_classes(files, where, skipped)
    out, originals, total = {}, {}, 0
    for split in SPLITS:
        images, labels = [], []
        count = sum(len(files[(split, c)]) for c in classes)
        with progress_bar(total=count, desc=f"decoding {split}", leave=False) as bar:
            for label, name in enumerate(classes):
                for member in sorted(files[(split, name)], key=_sort_key):
                    image, original = _decode_image(read(member), f"{where}:{_shown(member)}")
                    if original:
                        originals[original] = originals.get(original, 0) + 1
                    images.append(image)
                    labels.append(label)
                    bar.update()
        out[f"x_{split}"] = np.stack(images)
        out[f"y_{split}"] = np.asarray(labels, dtype=np.int64)
        total += count
    out["classes"] = np.array(classes)
    out["conversion"] = np.array(_conversion_note(originals, total))
    out["skipped"] = np.array(skipped)
    return out


def _dataset_root(names, where: str) -> tuple[str, ...] | None:
    """The folder (as path parts) holding both train/ and test/: the shallowest one, or None."""
    splits_under: dict[tuple[str, ...], set] = {}
    for name in names:
        parts = _parts(name)
        for depth, part in enumerate(parts[:-1]):
            if part in SPLITS:
                splits_under.setdefault(parts[:depth], set()).add(part)
    roots = [root for root, found in splits_under.items() if len(found) == len(SPLITS)]
    if not roots:
        return None
    depth = min(map(len, roots))
    shallowest = sorted(root for root in roots if len(root) == depth)
    if len(shallowest) > 1:
        shown = ", ".join(_shown("/".join(root)) + "/" for root in shallowest[:5])
        raise DataError(f"{where} holds several datasets with train/ and test/ folders "
                        f"({shown}); give one of them")
    return shallowest[0]


def _classify_members(names, where: str = "") -> tuple[dict[tuple[str, str], list[str]], str]:
    """(split, class) -> image members ``<root>/<split>/<class>/**/<file>`` (at any depth below
    the class folder, as torchvision's ImageFolder finds them), and a note of the files under
    train/ and test/ that were left out (hidden, of another type, outside a class folder)."""
    root = _dataset_root(names, where)
    files: dict[tuple[str, str], list[str]] = {}
    left: dict[str, list[str]] = {}
    if root is None:
        return files, ""
    for name in names:
        parts = _parts(name)
        inner = parts[len(root):]
        if parts[:len(root)] != root or len(inner) < 2 or inner[0] not in SPLITS:
            continue  # outside the dataset's train/ and test/
        if any(part.startswith(".") for part in inner):
            reason = "hidden"
        elif len(inner) == 2:
            reason = f"outside a class folder of {inner[0]}/"
        elif os.path.splitext(inner[-1])[1].lower() not in IMAGE_EXTENSIONS:
            reason = "of a type not read"
        else:
            if _shown(inner[1]) != inner[1]:
                raise DataError(f"{where}: class folder {_shown('/'.join(inner[:2]))!r} has a "
                                "name that is not UTF-8 (shown with U+FFFD); rename it, class "
                                "names label the figures and the stored runs")
            files.setdefault((inner[0], inner[1]), []).append(name)
            continue
        left.setdefault(reason, []).append("/".join(inner))
    return files, _skipped_note(left)


def _skipped_note(left: dict[str, list[str]]) -> str:
    """What was left out, e.g. "skipped 3 file(s) under train/ and test/: 2 of a type not read
    (.txt 2), 1 hidden; e.g. ..." (a count by reason and extension, and examples)."""
    if not left:
        return ""
    parts = []
    for reason, names in sorted(left.items(), key=lambda kv: -len(kv[1])):
        part = f"{len(names):,} {reason}"
        if reason == "of a type not read":
            kinds: dict[str, int] = {}
            for name in names:
                kind = PurePosixPath(name).suffix.lower() or "no extension"
                kinds[kind] = kinds.get(kind, 0) + 1
            part += " (" + ", ".join(f"{k} {n:,}" for k, n in
                                     sorted(kinds.items(), key=lambda kv: -kv[1])[:4]) + ")"
        parts.append(part)
    examples = [_shown(name) for names in left.values() for name in sorted(names)[:2]][:4]
    total = sum(map(len, left.values()))
    return (f"skipped {total:,} file(s) under train/ and test/: {', '.join(parts)}; e.g. "
            f"{', '.join(examples)}. Read are the extensions {' '.join(IMAGE_EXTENSIONS)} "
            "(any case), in a class folder or below it")


def _what_is_there(names) -> str:
    """A short account of a tree that is not in an accepted layout, for the error message."""
    names = list(names)
    images = [n for n in names if PurePosixPath(n).suffix.lower() in IMAGE_EXTENSIONS]
    tops = sorted({PurePosixPath(n).parts[0] for n in names if PurePosixPath(n).parts})
    shown = ", ".join(_shown(t) for t in tops[:8]) + (", ..." if len(tops) > 8 else "")
    example = f"; e.g. {_shown(images[0])}" if images else ""
    return (f"found {len(names):,} files, {len(images):,} of them images{example}; top level: "
            f"{shown or 'nothing'}")


def _folder_files(root: Path) -> list[bytes]:
    """Every file below root/train and root/test (links followed, as torchvision's ImageFolder
    does), as bytes paths relative to root: bytes, so no locale can fail to encode them."""
    base = os.fsencode(root)
    found = []
    for split in SPLITS:
        for folder, dirs, names in os.walk(os.path.join(base, split.encode()), followlinks=True):
            dirs.sort()
            relative = os.path.relpath(folder, base)
            found.extend(os.path.join(relative, name) for name in sorted(names))
    return found


def _read_image_folder(root: Path) -> dict[str, np.ndarray]:
    base, where = os.fsencode(root), _text(os.fsencode(root))
    files, skipped = _classify_members([_text(f) for f in _folder_files(root)], where)

    def read(name):
        try:
            with open(os.path.join(base, _raw(name)), "rb") as handle:
                return handle.read()
        except OSError as error:  # a broken link, a file removed or unreadable
            raise DataError(f"cannot read image {where}:{_shown(name)} ({error})") from error

    return _assemble_folder_images(files, read, where, skipped)


def _read_tarball(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    where = _text(os.fsencode(path))
    try:  # member names read as UTF-8 whatever the locale (GNU tar stores the bytes as they are)
        tar = tarfile.open(path, "r:*", encoding="utf-8")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DataError(f"{where} is not a readable tar archive ({error}); accepted: "
                        f"{ACCEPTED_FORMATS}") from error
    with tar:
        try:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DataError(f"{where} is truncated or corrupt ({error}); fetch it again") \
                from error
        if any(PurePosixPath(n).name == "data_batch_1" for n in members):
            return "cifar-python-tarball", _read_python_tarball(path, members, tar)
        files, skipped = _classify_members(members, where)
        if not files and not skipped:
            raise DataError(f"{where} holds neither CIFAR-10 python batches nor images under "
                            f"train/<class>/ and test/<class>/ ({_what_is_there(members)}); "
                            f"accepted: {ACCEPTED_FORMATS}")
        try:
            return "imagefolder-tarball", _assemble_folder_images(
                files, lambda n: tar.extractfile(members[n]).read(), where, skipped)
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DataError(f"{where} is truncated or corrupt ({error}); fetch it again") \
                from error


def _detect_and_read(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    if not path.exists():
        raise DataError(f"dataset path {path} does not exist; accepted: {ACCEPTED_FORMATS}")
    if path.is_file():
        return _read_tarball(path)
    if (path / "data_batch_1").exists():
        return "cifar-python-folder", _read_python_folder(path)
    if (path / "cifar-10-batches-py" / "data_batch_1").exists():
        return "cifar-python-folder", _read_python_folder(path / "cifar-10-batches-py")
    if (path / "train").is_dir() and (path / "test").is_dir():
        return "imagefolder", _read_image_folder(path)
    names = [_text(os.fsencode(p.relative_to(path))) for p in path.glob("*/*/*") if p.is_file()]
    raise DataError(f"{_text(os.fsencode(path))} is a folder but holds neither CIFAR-10 python "
                    f"batches nor train/ and test/ image folders ({_what_is_there(names)}); "
                    f"accepted: {ACCEPTED_FORMATS}")


def _check_arrays(arrays: dict[str, np.ndarray], where: str) -> None:
    n_classes = len(arrays.get("classes", CLASSES))
    for split in SPLITS:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE or x.dtype != np.uint8 or len(x) != len(y):
            raise DataError(f"{where}: {split} images have shape {x.shape} {x.dtype}, "
                            "expected (N, 32, 32, 3) uint8 with one label each")
        if len(y) == 0:
            raise DataError(f"{where}: no {split} images")
        if y.min() < 0 or y.max() >= n_classes:
            raise DataError(f"{where}: {split} labels outside 0..{n_classes - 1}")


def _source_key(path: Path) -> dict:
    stat = path.stat()
    key = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
           "decode_version": DECODE_VERSION}
    if path.is_dir():
        # a folder's own mtime misses a file rewritten in place: key on the files read from it
        # (names hashed as bytes, which no locale fails to encode)
        digest = hashlib.blake2b(digest_size=16)
        tops = [os.fsencode(p.relative_to(path)) for pattern in ("*", "*/*")
                for p in path.glob(pattern) if p.is_file()]
        for relative in sorted(set(tops) | set(_folder_files(path))):
            try:
                info = os.stat(os.path.join(os.fsencode(path), relative))
                stamp = f":{info.st_size}:{info.st_mtime_ns}\n"
            except OSError:  # a broken link: reading it names it
                stamp = ":unreadable\n"
            digest.update(relative + stamp.encode())
        key["files"] = digest.hexdigest()
    return key


def _load_from_path(path: Path, cache: ArrayCache) -> CIFAR10:
    if not path.exists():
        raise DataError(f"dataset path {path} does not exist; accepted: {ACCEPTED_FORMATS}")
    key = _source_key(path)

    def compute():
        kind, arrays = _detect_and_read(path)
        _check_arrays(arrays, str(path))
        classes = tuple(str(c) for c in arrays.get("classes", CLASSES))
        fp = fingerprint_arrays(arrays["x_train"], arrays["y_train"],
                                arrays["x_test"], arrays["y_test"], classes=classes)
        return {"conversion": np.array(""), "skipped": np.array(""), **arrays,
                "classes": np.array(classes), "fingerprint": np.array(fp),
                "kind": np.array(kind)}

    arrays = cache.get_or_compute("data", key, compute)
    skipped = str(arrays["skipped"])
    if skipped:  # at every load, so a cached dataset says it too
        warnings.warn(f"{_text(os.fsencode(path))}: {skipped}", DataWarning, stacklevel=3)
    return CIFAR10(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                   source=f"{arrays['kind']}:{_text(os.fsencode(path.resolve()))}",
                   fingerprint=str(arrays["fingerprint"]),
                   classes=tuple(str(c) for c in arrays["classes"]),
                   conversion=str(arrays["conversion"]), skipped=skipped)


def _download(root: Path) -> Path:
    """The original CIFAR-10 through torchvision; only the download, we read it ourselves."""
    from torchvision.datasets.utils import download_and_extract_archive

    folder = root / "cifar-10-batches-py"
    if not (folder / "data_batch_1").exists():
        download_and_extract_archive(
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", str(root),
            filename="cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a")
    return folder


def load_cifar10(path: str | os.PathLike | None = None, cache_dir=None,
                 download: bool = True) -> CIFAR10:
    """CIFAR-10 from ``path``, else ``$SEMISUP_DATA``, else the original download."""
    cache = ArrayCache(cache_dir)
    given = path if path is not None else os.environ.get(DATA_ENV) or None
    if given is not None:
        return _load_from_path(Path(given).expanduser(), cache)
    tried = [f"no path given and ${DATA_ENV} unset"]
    if download:
        root = cache.root / "cifar10-download"
        try:
            return _load_from_path(_download(root), cache)
        except Exception as error:  # no network, refused, checksum mismatch...
            tried.append(f"downloading the original into {root} failed: {error}")
    else:
        tried.append("download disabled")
    raise DataNotFoundError(
        "no copy of CIFAR-10 is available. Tried: " + "; ".join(tried) + ". Point at a copy with "
        f"load_cifar10(path=...) or export {DATA_ENV}=/path/to/copy, where the copy is "
        f"{ACCEPTED_FORMATS}; offline, the JPEG copy is ../shared/data/cifar10-jpeg.tar.gz")


# ----------------------------------------------------------------------------- subsets, splits
def subsample(data: CIFAR10, n_train: int | None, n_test: int | None, seed: int = 0) -> CIFAR10:
    """A class-stratified random subset (the smoke profile's small data)."""
    rng = np.random.default_rng(seed)
    k = data.n_classes

    def pick(y, n, split):
        if n is None or n >= len(y):
            return np.arange(len(y))
        if n < k:
            raise ValueError(f"a stratified subset of {split} images needs at least one per "
                             f"class ({k} classes), got n_{split}={n}")
        per_class = [rng.permutation(np.flatnonzero(y == c)) for c in range(k)]
        counts = np.full(k, n // k)
        counts[: n % k] += 1
        short = [f"{data.classes[c]!r} has {len(idx)}" for c, (idx, want)
                 in enumerate(zip(per_class, counts)) if len(idx) < want]
        if short:
            raise ValueError(f"a stratified subset of {n} {split} images takes {n // k}-"
                             f"{-(-n // k)} per class, but {'; '.join(short)}: lower n_{split} "
                             "or add images to those classes")
        return np.sort(np.concatenate([idx[:c] for idx, c in zip(per_class, counts)]))

    tr, te = pick(data.y_train, n_train, "train"), pick(data.y_test, n_test, "test")
    if len(tr) == data.n_train and len(te) == len(data.y_test):
        return data
    fp = hashlib.blake2b(f"{data.fingerprint}:{n_train}:{n_test}:{seed}".encode(),
                         digest_size=16).hexdigest()
    return replace(data, x_train=data.x_train[tr], y_train=data.y_train[tr],
                   x_test=data.x_test[te], y_test=data.y_test[te], fingerprint=fp,
                   source=f"{data.source} (subset {len(tr)}/{len(te)}, seed {seed})")


def check_m(m, n: int) -> int:
    """M as an int in 1..n-1, or a ValueError that names M and the allowed range."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
        if isinstance(m, float) and m.is_integer():
            m = int(m)
        else:
            raise ValueError(f"M={m!r} is not a whole number; M is how many of the {n} "
                             f"training images keep their labels, 1..{n - 1}")
    if not 1 <= m <= n - 1:
        raise ValueError(f"M={m} is outside the allowed range 1..{n - 1} (the {n} training "
                         "images minus at least one unknown)")
    return int(m)


def split_known(labels: np.ndarray, m: int, seed: int, stratify: bool = False):
    """Seeded split of the training indices into M known and N-M unknown (both sorted)."""
    n = len(labels)
    m = check_m(m, n)
    rng = np.random.default_rng(seed)
    if stratify:
        n_classes = len(np.unique(labels))
        if m < n_classes:
            raise ValueError(f"a stratified split needs M >= {n_classes} (one per class), got "
                             f"M={m}; use stratify=False")
        from sklearn.model_selection import train_test_split

        known, _ = train_test_split(np.arange(n), train_size=m, stratify=labels,
                                    random_state=int(rng.integers(2**31)))
    else:
        known = rng.permutation(n)[:m]
    known = np.sort(known)
    mask = np.ones(n, dtype=bool)
    mask[known] = False
    return known, np.flatnonzero(mask)


def validation_split(labels: np.ndarray, known: np.ndarray, size: float | int, seed: int,
                     stratify: bool | None = None):
    """Carve a validation set out of the KNOWN images: (fit, validation) dataset indices, both
    sorted, disjoint, together ``known``. Hyperparameters (temperature, known_mix, the teacher)
    are then chosen on labels the method may use, never on the test set.

    ``size``: a count, or a fraction of ``known`` in (0, 1). ``stratify``: None (the default)
    stratifies by label when M allows it (every class present has two known images and both
    parts can hold one of each class), else draws at random; True insists. Seeded: the same
    (known, size, seed), the same split.
    """
    known = np.sort(np.asarray(known))
    count = int(round(size * len(known))) if isinstance(size, float) else int(size)
    if isinstance(size, float) and not 0 < size < 1:
        raise ValueError(f"size={size!r}: a fraction of the known images must lie in (0, 1)")
    if not 1 <= count <= len(known) - 1:
        raise ValueError(f"size={size!r} gives {count} validation images; it must leave "
                         f"1..{len(known) - 1} of the {len(known)} known images on each side")
    y = np.asarray(labels)[known]
    classes, counts = np.unique(y, return_counts=True)
    possible = counts.min() >= 2 and min(count, len(known) - count) >= len(classes)
    if stratify and not possible:
        raise ValueError(f"a stratified validation split of {count} from {len(known)} known "
                         f"images needs every class twice among them and {len(classes)} on "
                         "each side; lower size or use stratify=False")
    rng = np.random.default_rng([seed, 15])  # a stream of its own, apart from split_known's
    if possible if stratify is None else stratify:
        from sklearn.model_selection import train_test_split

        fit, val = train_test_split(known, test_size=count, stratify=y,
                                    random_state=int(rng.integers(2**31)))
    else:
        order = rng.permutation(len(known))
        val, fit = known[order[:count]], known[order[count:]]
    return np.sort(fit), np.sort(val)
