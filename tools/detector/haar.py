#!/usr/bin/python3
"""Reference face and number-plate detector for geogate (protocol v1, docs/ANONYMIZE.md).

Listens on a Unix stream socket, reads detection requests (a 28-byte header and a JPEG or
raw YUYV/NV12 frame), runs OpenCV's Haar cascades from Debian's opencv-data on the frame's
luma, and answers with the boxes found. It is the reference the protocol is tested against,
not a production detector: Haar cascades miss turned faces and non-Russian plates. A unit's
NPU detector speaks the same protocol.

    python3 tools/detector/haar.py --socket /run/geogate/detector.sock

Debian packages: python3-opencv, opencv-data (scripts/deps.sh installs them).
"""

import argparse
import os
import signal
import socket
import socketserver
import struct
import sys

import cv2
import numpy as np

VERSION = 1
KIND_DETECT, KIND_BOXES, KIND_ERROR = 1, 2, 3
FACE, PLATE = 1, 2
MAGIC = b"GGAN"
REQUEST = struct.Struct("<4sBBHIIHHII")  # magic version kind flags id format w h deadline_ms len
RESPONSE = struct.Struct("<4sBBHIHH")  # magic version kind flags id count reserved
BOX = struct.Struct("<BBHHHHH")  # class reserved confidence x y w h
MAX_PAYLOAD = 64 << 20
MAX_MESSAGE = 1024
MAX_BOXES = 1024

MJPG = int.from_bytes(b"MJPG", "little")
YUYV = int.from_bytes(b"YUYV", "little")
NV12 = int.from_bytes(b"NV12", "little")

CASCADES = "/usr/share/opencv4/haarcascades"
# (class, file, minNeighbors, minimum size in pixels): neighbours trade recall for false
# detections; 5 for faces is OpenCV's documented default for this cascade, plates need fewer
# because the cascade is weaker.
MODELS = [
    (FACE, "haarcascade_frontalface_default.xml", 5, (24, 24)),
    (PLATE, "haarcascade_russian_plate_number.xml", 3, (36, 12)),
    (PLATE, "haarcascade_licence_plate_rus_16stages.xml", 3, (36, 12)),
]


def load(cascades):
    models = []
    for cls, name, neighbours, size in MODELS:
        c = cv2.CascadeClassifier(os.path.join(cascades, name))
        if c.empty():
            sys.exit(f"haar: cannot load {name} from {cascades} (apt-get install opencv-data)")
        models.append((cls, c, neighbours, size))
    return models


def luma(fmt, w, h, payload):
    """Returns the frame's 8-bit luma as a h x w array, or raises ValueError."""
    buf = np.frombuffer(payload, dtype=np.uint8)
    if fmt == MJPG:
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError("not a JPEG")
        if img.shape != (h, w):
            raise ValueError(f"JPEG is {img.shape[1]}x{img.shape[0]}, header says {w}x{h}")
        return img
    if fmt == YUYV and len(payload) >= w * h * 2:
        return buf[: w * h * 2].reshape(h, w, 2)[:, :, 0]
    if fmt == NV12 and len(payload) >= w * h * 3 // 2:
        return buf[: w * h].reshape(h, w)
    raise ValueError(f"format {fmt:#x} at {w}x{h} with {len(payload)} bytes")


def detect(models, gray):
    gray = cv2.equalizeHist(gray)
    boxes = []
    for cls, cascade, neighbours, size in models:
        rects, counts = cascade.detectMultiScale2(gray, scaleFactor=1.1, minNeighbors=neighbours, minSize=size)
        for (x, y, w, h), n in zip(rects, counts):
            # Haar has no calibrated score: report the neighbour count, 100 per mille each.
            boxes.append((cls, min(1000, 100 * int(n)), int(x), int(y), int(w), int(h)))
    return boxes[:MAX_BOXES]


def read_exactly(f, n):
    data = f.read(n)
    if len(data) != n:
        raise EOFError
    return data


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        models = self.server.models
        while True:
            try:
                hdr = read_exactly(self.rfile, REQUEST.size)
            except EOFError:
                return
            magic, version, kind, _flags, rid, fmt, w, h, _deadline, n = REQUEST.unpack(hdr)
            if magic != MAGIC or version != VERSION or kind != KIND_DETECT or n > MAX_PAYLOAD:
                return  # not geogate, or another protocol version: hang up
            try:
                payload = read_exactly(self.rfile, n)
            except EOFError:
                return
            try:
                boxes = detect(models, luma(fmt, w, h, payload))
            except (ValueError, cv2.error) as e:
                msg = str(e).encode()[:MAX_MESSAGE]
                self.wfile.write(RESPONSE.pack(MAGIC, VERSION, KIND_ERROR, 0, rid, len(msg), 0) + msg)
                continue
            out = [RESPONSE.pack(MAGIC, VERSION, KIND_BOXES, 0, rid, len(boxes), 0)]
            out += [BOX.pack(cls, 0, conf, x, y, bw, bh) for cls, conf, x, y, bw, bh in boxes]
            self.wfile.write(b"".join(out))


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--socket", required=True, help="Unix socket path to listen on")
    p.add_argument("--cascades", default=CASCADES, help="directory of the Haar cascade XML files")
    args = p.parse_args()
    models = load(args.cascades)
    if os.path.exists(args.socket):
        os.unlink(args.socket)  # a stale socket from a previous run
    old = os.umask(0o117)  # the socket: owner and group only
    srv = Server(args.socket, Handler)
    os.umask(old)
    srv.models = models
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"haar: listening on {args.socket}", flush=True)
    try:
        srv.serve_forever()
    finally:
        os.unlink(args.socket)


if __name__ == "__main__":
    main()
