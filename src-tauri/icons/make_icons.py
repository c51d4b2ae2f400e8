"""Draw WhaleID's app icon set (a dorsal fin on sea blue) for tauri-build.

Run with any Python that has Pillow: `python icons/make_icons.py` from
src-tauri/. The PNGs and the .ico are committed; this script is how to remake them.
"""
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent


def draw(size: int) -> Image.Image:
    s = 4 * size  # draw large, then downsample for smooth edges
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([0, 0, s - 1, s - 1], radius=s // 5, fill=(18, 74, 110, 255))
    # the sea line
    d.rectangle([0, int(s * 0.68), s, s], fill=(12, 52, 80, 255))
    d.rounded_rectangle([0, int(s * 0.68), s - 1, s - 1], radius=s // 5, fill=(12, 52, 80, 255))
    d.rectangle([0, int(s * 0.68), s - 1, int(s * 0.8)], fill=(12, 52, 80, 255))
    # a dorsal fin: a curved triangle rising from the water
    fin = [
        (s * 0.22, s * 0.70),
        (s * 0.46, s * 0.40),
        (s * 0.60, s * 0.20),
        (s * 0.62, s * 0.36),
        (s * 0.66, s * 0.56),
        (s * 0.78, s * 0.70),
    ]
    d.polygon(fin, fill=(235, 242, 246, 255))
    return img.resize((size, size), Image.LANCZOS)


for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    draw(size).save(HERE / name)
draw(256).save(HERE / "icon.ico", sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])
