"""Offline OCR of images (chat screenshots, scanned PDF pages) with the PP-OCRv4 models bundled in rapidocr."""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesbot.errors import UserFacingError

logger = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # a phone screenshot is ~3 MP; beyond this it is not a screenshot and would eat memory
MAX_IMAGE_BYTES = 50_000_000
# Two cores are shared with the rest of the app: one intra-op thread per model keeps OCR from starving it.
INTRA_OP_THREADS = 1
MIN_CONFIDENCE = 0.5
# Lines of one chat bubble or paragraph: the next line starts within this share of a line height below the
# previous one and at about the same left edge.
SAME_BLOCK_GAP = 0.6
SAME_BLOCK_INDENT = 1.0


class OcrError(UserFacingError):
    """The image could not be read (not an image, damaged, too large) or OCR is not installed."""


@dataclass(frozen=True)
class OcrLine:
    """One line of recognised text; for chat screenshots one bubble. box = (x0, y0, x1, y1) in pixels."""

    text: str
    confidence: float
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class OcrResult:
    """The lines of an image in reading order (top to bottom, then left to right) and the image's size."""

    lines: list[OcrLine]
    width: int
    height: int
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


_engine: Any = None
_engine_lock = threading.Lock()
_run_lock = threading.Lock()


def ocr_available() -> bool:
    """Whether the OCR engine and its bundled models can be imported here."""
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except Exception:  # a missing wheel or a broken native dependency both mean "no OCR"
        return False
    return True


def _get_engine() -> Any:
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                try:
                    from rapidocr_onnxruntime import RapidOCR
                except Exception as error:
                    raise OcrError("OCR is not installed on this server (rapidocr-onnxruntime)") from error
                # Models load from the package itself: nothing is downloaded.
                _engine = RapidOCR(intra_op_num_threads=INTRA_OP_THREADS, inter_op_num_threads=1)
    return _engine


def _load_image(source: Path | bytes) -> Any:
    """The image as an RGB numpy array; OcrError for unreadable, oversized or decompression-bomb input."""
    import numpy as np
    from PIL import Image

    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as error:
        raise OcrError("the image file could not be read") from error
    if len(raw) > MAX_IMAGE_BYTES:
        raise OcrError(f"image too large ({len(raw) / 1e6:.0f} MB; the limit is {MAX_IMAGE_BYTES / 1e6:.0f} MB)")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise OcrError(f"image too large ({width}×{height} pixels; the limit is "
                               f"{MAX_PIXELS / 1e6:.0f} megapixels)")
            rgb = image.convert("RGB")
            rgb.load()
    except OcrError:
        raise
    except Exception as error:  # Pillow raises many kinds for damaged or non-image bytes
        logger.debug("unreadable image", exc_info=True)
        raise OcrError("the file is not a readable image (PNG or JPEG)") from error
    return np.asarray(rgb)


def ocr_image(source: Path | bytes) -> OcrResult:
    """Recognise the text of an image (a path or its bytes); lines in reading order, bubbles merged."""
    array = _load_image(source)
    height, width = int(array.shape[0]), int(array.shape[1])
    engine = _get_engine()
    started = time.perf_counter()
    try:
        with _run_lock:  # onnxruntime sessions are shared; one image at a time keeps memory and cores bounded
            result, _ = engine(array)
    except Exception as error:
        logger.warning("OCR failed", exc_info=True)
        raise OcrError("OCR could not read this image") from error
    seconds = time.perf_counter() - started
    raw_lines = []
    for points, text, score in result or []:
        text = str(text).strip()
        if not text or float(score) < MIN_CONFIDENCE:
            continue
        xs = [float(point[0]) for point in points]
        ys = [float(point[1]) for point in points]
        raw_lines.append(OcrLine(text, float(score), (min(xs), min(ys), max(xs), max(ys))))
    return OcrResult(lines=_merge_blocks(_reading_order(raw_lines)), width=width, height=height, seconds=seconds)


def _reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Top to bottom; lines whose vertical centres are within half a line height count as one row, left first."""
    ordered = sorted(lines, key=lambda line: (line.box[1] + line.box[3]) / 2)
    rows: list[list[OcrLine]] = []
    for line in ordered:
        centre = (line.box[1] + line.box[3]) / 2
        if rows:
            last = rows[-1][0]
            if abs(centre - (last.box[1] + last.box[3]) / 2) < (last.box[3] - last.box[1]) / 2:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.box[0])]


def _merge_blocks(lines: list[OcrLine]) -> list[OcrLine]:
    """Wrapped lines of one bubble or paragraph joined into one line."""
    merged: list[OcrLine] = []
    for line in lines:
        if merged:
            previous = merged[-1]
            height = min(previous.box[3] - previous.box[1], line.box[3] - line.box[1])
            gap = line.box[1] - previous.box[3]
            aligned = abs(line.box[0] - previous.box[0]) <= SAME_BLOCK_INDENT * height
            # A shorter line below a full one: a wrapped continuation, not a new block with a new left edge.
            if 0 <= gap <= SAME_BLOCK_GAP * height and aligned and line.box[2] <= previous.box[2] + height:
                merged[-1] = OcrLine(
                    _join(previous.text, line.text),
                    min(previous.confidence, line.confidence),
                    (min(previous.box[0], line.box[0]), previous.box[1],
                     max(previous.box[2], line.box[2]), line.box[3]))
                continue
        merged.append(line)
    return merged


def _join(left: str, right: str) -> str:
    # Chinese wraps without spaces; Latin words need one back.
    if left[-1:].isascii() and right[:1].isascii() and left[-1:].isalnum() and right[:1].isalnum():
        return left + " " + right
    return left + right
