#!/usr/bin/python3
"""Regenerates anonymize/testdata/*.jpg from photographs that ship with Debian's python3-skimage
and glyphs from fonts-dejavu-core (see anonymize/testdata/SOURCES.md). Deterministic: the
same packages give the same pixels.

    /usr/bin/python3 tools/detector/mktestdata.py anonymize/testdata
"""

import os
import sys

import skimage.data as data
from PIL import Image, ImageDraw, ImageFont

BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
GRAY = (128, 128, 128)


def plate(text, region, w=520, h=112):
    """A Russian-format number plate (GOST R 50577 type 1 layout, 520 x 112 mm) drawn with
    DejaVu Sans Bold glyphs at one pixel per millimetre."""
    im = Image.new("RGB", (w, h), "white")
    dr = ImageDraw.Draw(im)
    dr.rectangle([2, 2, w - 3, h - 3], outline="black", width=6)
    dr.text((22, h // 2), text, font=ImageFont.truetype(BOLD, 84), fill="black", anchor="lm")
    dr.line([(390, 6), (390, h - 7)], fill="black", width=4)
    dr.text((455, 42), region, font=ImageFont.truetype(BOLD, 60), fill="black", anchor="mm")
    dr.text((430, 92), "RUS", font=ImageFont.truetype(BOLD, 18), fill="black", anchor="mm")
    return im


def main(out):
    def save(img, name):
        img.save(os.path.join(out, name), quality=85)

    # astronaut: 512x512 scaled to 480x480 and centred on a 640x480 frame.
    ast = Image.fromarray(data.astronaut()).resize((480, 480), Image.LANCZOS)
    frame = Image.new("RGB", (640, 480), GRAY)
    frame.paste(ast, (80, 0))
    save(frame, "astronaut.jpg")
    save(Image.fromarray(data.camera()), "cameraman.jpg")
    # plates: the rocket photo on a 640x480 frame with two plates pasted on it.
    frame = Image.new("RGB", (640, 480), GRAY)
    frame.paste(Image.fromarray(data.rocket()), (0, 26))
    for text, region, pos, pw in [("A123BC", "77", (60, 330), 170), ("K456MO", "99", (380, 380), 140)]:
        frame.paste(plate(text, region).resize((pw, pw * 112 // 520), Image.LANCZOS), pos)
    save(frame, "plates.jpg")
    save(Image.fromarray(data.chelsea()), "chelsea.jpg")
    save(Image.fromarray(data.coffee()), "coffee.jpg")
    save(Image.fromarray(data.rocket()), "rocket.jpg")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "anonymize/testdata")
