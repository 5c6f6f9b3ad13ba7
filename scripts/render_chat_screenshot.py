"""Render a chat transcript (lines `L|Name|message` or `R|Name|message`) as a WeChat-style screenshot PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
WIDTH = 750
MARGIN = 24
AVATAR = 64
BUBBLE_MAX = 560
PAD = 18
FONT_SIZE = 30
NAME_SIZE = 22
GAP = 28
BACKGROUND = (237, 237, 237)
LEFT_BUBBLE = (255, 255, 255)
RIGHT_BUBBLE = (149, 236, 105)
AVATAR_COLOURS = ((120, 144, 196), (196, 150, 110))


def parse_chat(text: str) -> list[tuple[str, str, str]]:
    """Return (side, name, message) triples; blank lines and `#` comments are skipped."""
    turns: list[tuple[str, str, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("|", 2)
        if len(parts) != 3 or parts[0].strip().upper() not in ("L", "R"):
            raise ValueError(f"line {number}: expected `L|Name|message` or `R|Name|message`")
        turns.append((parts[0].strip().upper(), parts[1].strip(), parts[2].strip()))
    return turns


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    # Chinese has no spaces, so wrap character by character; keep ASCII words whole where they fit.
    lines: list[str] = []
    current = ""
    for char in text:
        candidate = current + char
        if draw.textlength(candidate, font=font) <= width:
            current = candidate
            continue
        if char != " " and " " in current and current[-1] != " " and char.isascii():
            head, _, tail = current.rpartition(" ")
            lines.append(head)
            current = tail + char
        else:
            lines.append(current)
            current = char.lstrip()
    if current:
        lines.append(current)
    return lines or [""]


def render(turns: list[tuple[str, str, str]], font_path: str = DEFAULT_FONT) -> Image.Image:
    """Draw the turns: the other party's bubbles on the left, mine on the right, names above bubbles."""
    font = ImageFont.truetype(font_path, FONT_SIZE)
    name_font = ImageFont.truetype(font_path, NAME_SIZE)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_height = FONT_SIZE + 12
    layout = []
    height = MARGIN + 20
    for side, name, message in turns:
        lines = _wrap(probe, message, font, BUBBLE_MAX - 2 * PAD)
        text_width = max(probe.textlength(line, font=font) for line in lines)
        bubble_w = int(text_width) + 2 * PAD
        bubble_h = len(lines) * line_height + 2 * PAD - 12
        layout.append((side, name, lines, bubble_w, bubble_h, height))
        height += NAME_SIZE + 8 + max(bubble_h, AVATAR) + GAP
    height += MARGIN
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for side, name, lines, bubble_w, bubble_h, top in layout:
        left = side == "L"
        avatar_x = MARGIN if left else WIDTH - MARGIN - AVATAR
        draw.rounded_rectangle((avatar_x, top, avatar_x + AVATAR, top + AVATAR), 8,
                               fill=AVATAR_COLOURS[0 if left else 1])
        bubble_x = avatar_x + AVATAR + 16 if left else avatar_x - 16 - bubble_w
        name_x = bubble_x if left else bubble_x + bubble_w - draw.textlength(name, font=name_font)
        draw.text((name_x, top), name, font=name_font, fill=(136, 136, 136))
        bubble_top = top + NAME_SIZE + 8
        draw.rounded_rectangle((bubble_x, bubble_top, bubble_x + bubble_w, bubble_top + bubble_h), 10,
                               fill=LEFT_BUBBLE if left else RIGHT_BUBBLE)
        for index, line in enumerate(lines):
            draw.text((bubble_x + PAD, bubble_top + PAD - 6 + index * line_height), line, font=font,
                      fill=(20, 20, 20))
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("chat", type=Path, help="chat text file: one `L|Name|message` or `R|Name|message` a line")
    parser.add_argument("out", type=Path, help="PNG (or JPEG) to write")
    parser.add_argument("--font", default=DEFAULT_FONT, help="a CJK-capable TrueType/OpenType font")
    args = parser.parse_args(argv)
    try:
        turns = parse_chat(args.chat.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"render_chat_screenshot: {error}", file=sys.stderr)
        return 2
    if not turns:
        print("render_chat_screenshot: the chat file has no turns", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    render(turns, args.font).save(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
